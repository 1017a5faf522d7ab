// The installed `bwrap` shim's entry: no `sbx-native` command dispatch in between.
import { bwrapMain } from './run';

bwrapMain(process.argv.slice(2));
