// Real React DOM rendering for the hook tests: `react-dom/client` roots in the happy-dom document, driven inside
// `act` so every update is committed before a test looks. No StrictMode: it renders twice on purpose, and these
// tests count renders.
import { act, createElement, type FunctionComponent } from 'react';
import { createRoot, type Root } from 'react-dom/client';

// Tells React this is a test environment whose updates are wrapped in `act` (otherwise it warns).
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export interface Mounted {
  container: HTMLElement;
  text(): string;
  rerender<P extends object>(component: FunctionComponent<P>, props: P): Promise<void>;
  unmount(): Promise<void>;
}

const mounted = new Set<Mounted>();

/** Renders `component` with `props` into a fresh element of the document. */
export async function mount<P extends object>(component: FunctionComponent<P>, props: P): Promise<Mounted> {
  const container = document.createElement('div');
  document.body.append(container);
  let root: Root | undefined = createRoot(container);
  await act(async () => root!.render(createElement(component, props)));
  const handle: Mounted = {
    container,
    text: () => container.textContent ?? '',
    rerender: async (next, nextProps) => {
      await act(async () => root!.render(createElement(next, nextProps)));
    },
    unmount: async () => {
      if (!root) return;
      const current = root;
      root = undefined;
      mounted.delete(handle);
      await act(async () => current.unmount());
      container.remove();
    },
  };
  mounted.add(handle);
  return handle;
}

/** Unmounts whatever a test left mounted. */
export async function unmountAll(): Promise<void> {
  for (const handle of [...mounted]) await handle.unmount();
}

/** Runs `step` (manager calls, clock moves) inside `act`, so React commits what it caused before the test goes on. */
export async function step(action: () => unknown): Promise<void> {
  await act(async () => {
    await action();
  });
}
