// The installed `bwrap` shim's entry. It starts the front end the way
// bin/sbx-native.js starts the CLI, from the bundle and its code cache
// (cli-entry.ts): a client runs bwrap two or three times per command, and
// loading dist/ module by module costs each start several ms.
import { main } from '../cli-entry';

main(['bwrap', ...process.argv.slice(2)]);
