// @vitest-environment node
// defaultKy alone: ky's default export as it is, or unwrapped from the module namespace a CommonJS require() yields.
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.doUnmock('ky');
  vi.resetModules();
});

describe('defaultKy', () => {
  it("is ky's default export when that is the function", async () => {
    const ky = Object.assign(() => {}, { create: () => {} });
    vi.doMock('ky', () => ({ default: ky }));
    vi.resetModules();
    const { defaultKy } = await import('../../src/http/default-ky.js');
    expect(defaultKy).toBe(ky);
  });

  it('unwraps a namespace object (what CommonJS gets from the ESM-only ky)', async () => {
    const ky = Object.assign(() => {}, { create: () => {} });
    vi.doMock('ky', () => ({ default: { default: ky } }));
    vi.resetModules();
    const { defaultKy } = await import('../../src/http/default-ky.js');
    expect(defaultKy).toBe(ky);
  });
});
