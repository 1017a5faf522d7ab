#!/bin/sh
':' //; for v in NODE_OPTIONS NODE_EXTRA_CA_CERTS; do eval "[ \"\${$v+set}\" = set ] && export SBX_BWRAP_ENV_$v=\"\$$v\" && unset $v"; done; exec node "$0" "$@"
// Run directly (npx, PATH): sh moves aside the variables Node acts on when it
// starts (lib/cli-entry.ts: NODE_EXTRA_CA_CERTS alone is most of a Node
// start with Debian's bundle) and starts Node on this same file; the CLI puts
// them back before anything reads the environment, so the command gets them.
// Run as `node bin/sbx-native.js`, the line above is a string and a comment.
'use strict';
require('../dist/cli-entry.js').main(process.argv.slice(2));
