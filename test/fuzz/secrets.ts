// What must never be written anywhere a token could end up (log entries, error messages): the token itself, or its
// payload or signature segment. `texts` gathers every string a value carries (an entry's fields, an error's
// message and cause), without letting a getter or a proxy throw.

/** The parts of `token` that must not appear: the whole token, its payload and its signature segments. */
export function secretsOf(token: string): string[] {
  const [, payload, signature] = token.split('.');
  return [token, payload, signature].filter((part): part is string => typeof part === 'string' && part.length >= 16);
}

/** Every string in `value`, its fields, their fields (to `depth`), and an error's `message` and `cause`. */
export function texts(value: unknown, depth = 3, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null || depth < 0 || seen.has(value)) return [];
  seen.add(value);
  const out: string[] = [];
  try {
    const keys = new Set<string>([...Object.keys(value), ...(value instanceof Error ? ['message', 'cause', 'stack'] : [])]);
    for (const key of keys) out.push(...texts((value as Record<string, unknown>)[key], depth - 1, seen));
  } catch {
    // A hostile value of the test's own making: nothing the library wrote.
  }
  return out;
}

/** The secrets of `tokens` that `value` carries somewhere, as `<first 12 characters>…` (empty when none). */
export function leaked(value: unknown, tokens: Iterable<string>): string[] {
  const haystack = texts(value);
  const found: string[] = [];
  for (const token of tokens) {
    for (const secret of secretsOf(token)) {
      if (haystack.some((text) => text.includes(secret))) found.push(`${secret.slice(0, 12)}…`);
    }
  }
  return found;
}
