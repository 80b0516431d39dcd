// Runs when `node-gyp-build` (the install script) could neither load a
// prebuilt addon nor build one: no prebuild for this platform and no
// working toolchain. An installed pagewise still works, through its portable
// JavaScript fallback, so the install goes on; in a clone of the repository
// the failed build is an error (the tests need the addon).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
if (existsSync(join(root, '.git'))) {
  process.stderr.write('pagewise: building the native addon failed (see above); a clone needs python3, make and a C++ compiler\n');
  process.exit(1);
}
process.stderr.write(
  `pagewise: no prebuilt native addon for ${process.platform}-${process.arch} loaded and building one failed (see above).\n` +
    'pagewise still works, through its portable JavaScript fallback (positional reads instead of mmap, slower).\n' +
    'For the addon: install python3, make and a C++ compiler, then run `npm rebuild pagewise` in your project.\n',
);
