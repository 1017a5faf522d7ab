// What a bwrap shim installed by an earlier build runs (`node
// dist/bwrap/main.js ARGS`); the shim --install writes now has Node run
// cli-entry.js itself. The same start: the bwrap bundle and its code cache.
import { main } from '../cli-entry';

main(['bwrap', ...process.argv.slice(2)]);
