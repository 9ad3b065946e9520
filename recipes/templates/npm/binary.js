'use strict';
// This package's App and the archive of each target it was built for. The package ships no
// binaries: `run` gets the host's archive on first use (binary-install.js) and runs the
// binary with this process's arguments; `install` (install.js) gets it ahead of time.

const path = require('path');

const { ensureInstalled, exec } = require('./binary-install.js');

const manifest = __MANIFEST__;

function fail(err) {
  console.error(`error: ${manifest.app_name}: ${err.message}`);
  process.exit(1);
}

// Runs the App's binary `binName`, installing it first if needed.
function run(binName) {
  ensureInstalled(manifest, binName).then(exec, fail);
}

// Downloads, checks and unpacks the host's archive now, so the first run needs no network.
function install() {
  ensureInstalled(manifest, manifest.binaries[0]).then((binPath) => {
    console.log(`${manifest.app_name} ${manifest.app_version}: installed in ${path.dirname(binPath)}`);
  }, fail);
}

module.exports = { run, install };
