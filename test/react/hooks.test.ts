// `token-warden/react` with real React: `react-dom/client` roots in happy-dom, updates inside `act`, an
// AccessManager driven by a ManualClock and a fetcher the test answers by hand. Run with React 19 (`unit`) and
// React 18 (`react18`, vitest.config.ts).
import { createElement, Fragment, version } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccessManager, AccessManagerOptions, AccessManagerSnapshot } from '../../src/index.js';
import { useAccessManager, useToken } from '../../src/react/index.js';
import { ManualClock } from '../helpers/clock.mjs';
import { createManager } from '../helpers/manager.js';
import { MIN } from '../helpers/time.mjs';
import { mintToken } from '../helpers/tokens.mjs';
import { mount, step, unmountAll } from './render.js';

afterEach(async () => {
  await unmountAll();
  vi.restoreAllMocks();
});

/** A fetcher whose calls wait until the test answers them: `next()` is the oldest unanswered call. */
function manualFetcher() {
  const calls: Array<{ resolve(token: string): void; reject(error: unknown): void }> = [];
  const fetchToken = vi.fn(() => new Promise<string>((resolve, reject) => calls.push({ resolve, reject })));
  return { fetchToken, next: () => calls.shift()! };
}

function setup(options: Partial<AccessManagerOptions> = {}) {
  const clock = new ManualClock();
  // Tokens are shown by name (t1, t2, ...): the tests read the screen, and a token never belongs on it.
  const names = new Map<string | undefined, string>([[undefined, 'none']]);
  const mint = (ttl = 3600) => {
    const token = mintToken({ at: clock.now(), ttl });
    names.set(token, `t${names.size}`);
    return token;
  };
  const manager = createManager({ clock, refreshSpreadMs: 0, ...options, token: 'token' in options ? options.token : mint() });
  const label = (token: string | undefined) => names.get(token) ?? 'unknown';
  const describeSnapshot = (s: AccessManagerSnapshot) => `${s.state} ${label(s.token)} ${s.lastError?.code ?? 'ok'}`;
  return { clock, manager, mint, label, describeSnapshot };
}

/**
 * React 19 renders each snapshot published inside one `act` scope. React 18 renders only the last of them when
 * several arrive in it: a fetched token is published as `refreshing` while its refresh finishes, then as `valid`,
 * one microtask apart, and React 18 renders the second only. Either way no snapshot renders twice, and the screen
 * ends on the current one.
 */
const REACT_18 = version.startsWith('18.');

const unauthorized = () => Object.assign(new Error('token endpoint answered 401'), { status: 401 });

describe('useAccessManager', () => {
  it('shows the state through a refresh, a failure and an expiry, rendering exactly once per snapshot change', async () => {
    const { fetchToken, next } = manualFetcher();
    const { clock, manager, mint, describeSnapshot } = setup({ fetchToken, autoRefresh: false });
    // Every snapshot the manager publishes, in order (this listener is there before React's).
    const published: AccessManagerSnapshot[] = [];
    manager.subscribe((snapshot) => published.push(snapshot));
    const rendered: AccessManagerSnapshot[] = [];
    function Status({ source }: { source: AccessManager }) {
      const snapshot = useAccessManager(source);
      rendered.push(snapshot);
      return createElement('output', null, describeSnapshot(snapshot));
    }
    const initial = manager.getSnapshot();
    const view = await mount(Status, { source: manager });
    expect(view.text()).toBe('valid t1 ok');

    /** Snapshots replaced inside the step that published them, which React 18 does not render (`REACT_18`). */
    const superseded = new Set<AccessManagerSnapshot>();
    /** Runs `action`; then the screen shows `text`, and every snapshot published so far was rendered once. */
    const expectStep = async (action: () => unknown, text: string) => {
      const from = published.length;
      await step(action);
      expect(view.text()).toBe(text);
      if (REACT_18) for (const snapshot of published.slice(from, -1)) superseded.add(snapshot);
      expect(rendered).toEqual([initial, ...published].filter((snapshot) => !superseded.has(snapshot)));
      expect(rendered.at(-1)).toBe(manager.getSnapshot());
    };
    await expectStep(() => {}, 'valid t1 ok');

    let refreshed: Promise<unknown> = Promise.resolve();
    await expectStep(() => void (refreshed = manager.refresh()), 'refreshing t1 ok');
    await expectStep(() => {
      next().resolve(mint(3601));
      return refreshed;
    }, 'valid t2 ok');

    let failing: Promise<unknown> = Promise.resolve();
    await expectStep(() => void (failing = manager.refresh().catch((error: unknown) => error)), 'refreshing t2 ok');
    await expectStep(() => {
      next().reject(unauthorized());
      return failing;
    }, 'failed t2 FETCH_UNAUTHORIZED');
    await expect(failing).resolves.toMatchObject({ code: 'FETCH_UNAUTHORIZED' });

    // A token from elsewhere ends `failed` and clears the error; then time runs out on it (no automatic refresh).
    await expectStep(() => manager.updateToken(mint(3602)), 'valid t3 ok');
    await expectStep(() => clock.advance(MIN), 'valid t3 ok');
    await expectStep(() => clock.advance(3602_000 - 3 * MIN - MIN), 'aboutToExpire t3 ok');
    await expectStep(() => clock.advance(3 * MIN), 'expired t3 ok');
    await expectStep(() => clock.advance(10 * MIN), 'expired t3 ok');

    // One render per snapshot change, never one for an unchanged snapshot. (The adopted token is published while
    // its refresh is still finishing: `refreshing t2`, then `valid t2`, which React 18 renders as one change.)
    expect(new Set(rendered).size).toBe(rendered.length);
    expect(rendered.map(describeSnapshot)).toEqual([
      'valid t1 ok',
      'refreshing t1 ok',
      ...(REACT_18 ? [] : ['refreshing t2 ok']),
      'valid t2 ok',
      'refreshing t2 ok',
      'failed t2 FETCH_UNAUTHORIZED',
      'valid t3 ok',
      'aboutToExpire t3 ok',
      'expired t3 ok',
    ]);
  });

  it('renders the first fetched token without suspending: idle/refreshing first, then valid', async () => {
    const { fetchToken, next } = manualFetcher();
    const { manager, mint, describeSnapshot } = setup({ fetchToken, token: undefined });
    function Status({ source }: { source: AccessManager }) {
      return createElement('output', null, describeSnapshot(useAccessManager(source)));
    }
    const view = await mount(Status, { source: manager });
    expect(view.text()).toBe('refreshing none ok');
    await step(() => next().resolve(mint()));
    expect(view.text()).toBe('valid t1 ok');
  });

  it('follows another manager passed in, and leaves the first one', async () => {
    const a = setup();
    const b = setup({ autoRefresh: false });
    await step(() => b.clock.advance(3600_000 - 3 * MIN));
    let renders = 0;
    function Status({ source }: { source: AccessManager }) {
      renders++;
      return createElement('output', null, useAccessManager(source).state);
    }
    const view = await mount(Status, { source: a.manager });
    await view.rerender(Status, { source: b.manager });
    expect(view.text()).toBe('aboutToExpire');
    const before = renders;
    await step(() => a.clock.advance(3600_000));
    expect(a.manager.state).toBe('expired');
    expect(renders).toBe(before);
    expect(view.text()).toBe('aboutToExpire');
  });

  it('renders on the server with the current snapshot', () => {
    const { manager } = setup();
    function Status({ source }: { source: AccessManager }) {
      return createElement('output', null, useAccessManager(source).state, ' ', useToken(source) ? 'token' : 'none');
    }
    expect(renderToString(createElement(Status, { source: manager }))).toBe('<output>valid<!-- --> <!-- -->token</output>');
  });
});

describe('useToken', () => {
  it('returns the token and renders only when it changes, not on state or error changes', async () => {
    const { fetchToken, next } = manualFetcher();
    const { clock, manager, mint, label, describeSnapshot } = setup({ fetchToken, retry: false, autoRefresh: false });
    const renders = { token: 0, status: 0 };
    function TokenView({ source }: { source: AccessManager }) {
      renders.token++;
      return createElement('span', null, label(useToken(source)));
    }
    function Status({ source }: { source: AccessManager }) {
      renders.status++;
      return createElement('span', null, describeSnapshot(useAccessManager(source)), ' | ');
    }
    function App({ source }: { source: AccessManager }) {
      return createElement(Fragment, null, createElement(Status, { source }), createElement(TokenView, { source }));
    }
    const published: string[] = [];
    manager.subscribe((snapshot) => published.push(describeSnapshot(snapshot)));
    // The status view's renders: one per published snapshot, less those React 18 skips (`REACT_18`).
    let skipped = 0;
    const change = async (action: () => unknown) => {
      const from = published.length;
      await step(action);
      if (REACT_18) skipped += Math.max(0, published.length - from - 1);
    };
    const view = await mount(App, { source: manager });
    expect(view.text()).toBe('valid t1 ok | t1');
    expect(renders).toEqual({ token: 1, status: 1 });

    // A failed refresh: state and lastError change, the token does not.
    let failing: Promise<unknown> = Promise.resolve();
    await change(() => void (failing = manager.refresh().catch(() => {})));
    await change(() => {
      next().reject(new Error('503'));
      return failing;
    });
    expect(view.text()).toBe('valid t1 FETCH_FAILED | t1');
    expect(renders).toEqual({ token: 1, status: 1 + published.length - skipped });

    // A successful one: one render of the token view, for the new token.
    let refreshed: Promise<unknown> = Promise.resolve();
    await change(() => void (refreshed = manager.refresh()));
    await change(() => {
      next().resolve(mint(3601));
      return refreshed;
    });
    expect(view.text()).toBe('valid t2 ok | t2');
    expect(renders).toEqual({ token: 2, status: 1 + published.length - skipped });

    // Time-driven state changes leave it alone too.
    await change(() => clock.advance(3601_000 - 3 * MIN));
    expect(view.text()).toBe('aboutToExpire t2 ok | t2');
    await change(() => clock.advance(3 * MIN));
    expect(view.text()).toBe('expired t2 ok | t2');
    expect(renders).toEqual({ token: 2, status: 1 + published.length - skipped });
    expect(published).toEqual([
      'refreshing t1 ok',
      'valid t1 FETCH_FAILED',
      'refreshing t1 FETCH_FAILED',
      'refreshing t2 ok',
      'valid t2 ok',
      'aboutToExpire t2 ok',
      'expired t2 ok',
    ]);
  });

  it('is undefined while there is no token, without suspending', async () => {
    const { fetchToken, next } = manualFetcher();
    const { manager, mint, label } = setup({ fetchToken, token: undefined });
    const seen: Array<string | undefined> = [];
    function TokenView({ source }: { source: AccessManager }) {
      const token = useToken(source);
      seen.push(token);
      return createElement('span', null, label(token));
    }
    const view = await mount(TokenView, { source: manager });
    expect(view.text()).toBe('none');
    await step(() => next().resolve(mint()));
    expect(view.text()).toBe('t1');
    expect(seen).toEqual([undefined, manager.token]);
  });
});

describe('unmounting', () => {
  it('unsubscribes every hook from the manager, and later changes render nothing', async () => {
    const { fetchToken, next } = manualFetcher();
    const { clock, manager, mint } = setup({ fetchToken });
    const subscribe = manager.subscribe;
    const unsubscribes: Array<ReturnType<typeof vi.fn>> = [];
    vi.spyOn(manager, 'subscribe').mockImplementation((listener) => {
      const unsubscribe = vi.fn(subscribe(listener));
      unsubscribes.push(unsubscribe);
      return unsubscribe;
    });
    let renders = 0;
    function Both({ source }: { source: AccessManager }) {
      renders++;
      const { state } = useAccessManager(source);
      const token = useToken(source);
      return createElement('span', null, state, token ? ' token' : ' none');
    }
    const view = await mount(Both, { source: manager });
    expect(view.text()).toBe('valid token');
    expect(unsubscribes.length).toBeGreaterThanOrEqual(2);
    const live = () => unsubscribes.filter((unsubscribe) => unsubscribe.mock.calls.length === 0).length;
    expect(live()).toBe(2);

    const errors = vi.spyOn(console, 'error');
    await view.unmount();
    expect(live()).toBe(0);
    for (const unsubscribe of unsubscribes) expect(unsubscribe).toHaveBeenCalledTimes(1);

    const before = renders;
    let refreshed: Promise<unknown> = Promise.resolve();
    await step(() => void (refreshed = manager.refresh()));
    await step(() => {
      next().resolve(mint(3601));
      return refreshed;
    });
    await step(() => clock.advance(2 * 3600_000));
    expect(renders).toBe(before);
    expect(errors).not.toHaveBeenCalled();
  });
});
