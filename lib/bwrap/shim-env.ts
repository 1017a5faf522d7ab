// Environment variables Node itself acts on when it starts, kept from the
// front end's own Node for the command (docs/bwrap.md). The list and both
// halves live in cli-entry.ts, the one file the entry runs before the bundle.
export { NODE_START_VARS, restoreStashed, stashLines } from '../cli-entry';
