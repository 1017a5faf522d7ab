#!/usr/bin/env node
'use strict';
require('../dist/cli-entry.js').main(process.argv.slice(2));
