// `npm run db`: runs the FerretDB test server in the foreground until Ctrl-C (or SIGTERM).
import { startFerretDb } from './launcher.js';

const port = Number(process.env.MONGODB_PORT ?? 27017);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`MONGODB_PORT must be a TCP port number, got ${JSON.stringify(process.env.MONGODB_PORT)}`);
  process.exit(2);
}
const server = await startFerretDb({ port });
console.log(`FerretDB (SQLite backend) is ready. Data folder: ${server.dataDir}`);
console.log(`MONGODB_URI=${server.uri}`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping FerretDB...`);
    void server.stop().then(() => process.exit(0));
  });
}
server.process.on('exit', (code) => {
  if (!stopping) {
    console.error(`FerretDB exited unexpectedly with code ${code}`);
    process.exit(1);
  }
});
