// `token-warden/react`: hooks over the manager's `subscribe`/`getSnapshot`. React is an optional peer dependency,
// imported only from this entry, so the core bundle never contains it.
export { useAccessManager, useToken, type SnapshotSource } from './hooks.js';
