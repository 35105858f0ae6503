// Which React the hook tests render with: React 19 (the root devDependencies) in the `unit` project, React 18
// (test/react18/package.json) in the `react18` project, whose aliases must reach every entry the tests and
// src/react import. (react-dom/client exports no version in React 18; a react-dom/client of another copy than
// `react` would fail every hook test instead: hooks called through the wrong copy throw.)
import { version as reactVersion } from 'react';
import { version as domVersion } from 'react-dom';
import { version as serverVersion } from 'react-dom/server';
import { describe, expect, inject, it } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The React major the project's aliases load (vitest.config.ts, `provide`). */
    reactMajor: number;
  }
}

// Without a project's `provide` (stryker.vitest.config.ts has none), the root's React 19.
const major = inject('reactMajor') ?? 19;

describe('the React under test', () => {
  it(`is React ${major}, one copy for react, react-dom and react-dom/server`, () => {
    expect(reactVersion.startsWith(`${major}.`), reactVersion).toBe(true);
    expect([domVersion, serverVersion]).toEqual([reactVersion, reactVersion]);
  });
});
