// A dashboard's watcher of the tree, with Node's fs.watch (inotify on Linux).
//
//   node watch_tree.js RUNTIMES_DIR ID OUT
//
// Watches RUNTIMES_DIR (runtimes appearing and going) and RUNTIMES_DIR/ID
// (its files changing), and appends one line per event to OUT:
// "runtimes <eventType> <name>" or "<ID> <eventType> <name>".  Writes
// "ready" first, once both watches are in place.  Runs until killed.
'use strict';
const fs = require('fs');
const path = require('path');

const [root, id, out] = process.argv.slice(2);
const log = (line) => fs.appendFileSync(out, line + '\n');

fs.watch(root, (type, name) => log(`runtimes ${type} ${name}`));
fs.watch(path.join(root, id), (type, name) => log(`${id} ${type} ${name}`));
log('ready');
