'use strict';
// Launcher shared by this package's bin scripts (npm-installer-style = "packages"). The
// binaries come in one package per platform, listed in optionalDependencies and limited to
// their platform by `os`, `cpu` and `libc`, so npm and pnpm install only the ones this host can
// use, without install scripts. This runs the binary of the best one installed.

const { hostTargets, exec } = require('./host.js');

const platforms = require('./platforms.json');

// The binary `binName` of the first installed platform package this host can run.
function find(binName) {
  const exe = process.platform === 'win32' ? `${binName}.exe` : binName;
  for (const target of hostTargets()) {
    const pkg = platforms.packages[target];
    if (!pkg) {
      continue;
    }
    try {
      return require.resolve(`${pkg}/bin/${exe}`, { paths: [__dirname] });
    } catch (_) {
      // Not installed (another libc, or optional dependencies omitted): try the next.
    }
  }
  return null;
}

module.exports = function launch(binName) {
  const binPath = find(binName);
  if (binPath) {
    exec(binPath);
    return;
  }
  const wanted = hostTargets()
    .map((target) => platforms.packages[target])
    .filter(Boolean);
  const why = wanted.length
    ? `none of ${wanted.join(', ')} is installed: were optional dependencies omitted ` +
      '(--omit=optional, --no-optional)? Install again without that'
    : `there is no build for ${process.platform}/${process.arch}; builds: ` +
      Object.keys(platforms.packages).join(', ');
  console.error(`error: ${platforms.app_name} ${platforms.app_version}: ${why}`);
  process.exit(1);
};
