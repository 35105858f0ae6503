/**
 * xorshift32 in [0, 1): a small deterministic PRNG for a clock's `random` (retry jitter, the refresh spread), so
 * that a property run's counterexample replays exactly.
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}
