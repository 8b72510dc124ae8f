import { MemoryRevocationStore } from '../lib/index.js';
const store = new MemoryRevocationStore();
const since = new Date(Date.now() - 1000);
for (let i = 0; i < 3; i++) {
  console.log('w', i);
  store.revokeSession('sid' + i, 'u' + i, new Date(Date.now() + 3600000));
}
console.log(store.readRevocations(since, 2).changes.length);
store.close();
