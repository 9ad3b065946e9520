'use strict';
// What both npm package styles share: the Rust targets this host can run, best first, and
// running a binary as if it were this process (arguments, exit status, signals).

const childProcess = require('child_process');
const os = require('os');

function isMusl() {
  if (process.platform !== 'linux' || !process.report) {
    return false;
  }
  try {
    let report = process.report.getReport();
    if (typeof report === 'string') {
      report = JSON.parse(report);
    }
    // Node reports the glibc it runs on; a musl build has none to report.
    return Boolean(report.header) && !report.header.glibcVersionRuntime;
  } catch (_) {
    return false;
  }
}

// The targets this host can run, best first.
function hostTargets() {
  const cpus = {
    x64: 'x86_64',
    arm64: 'aarch64',
    ia32: 'i686',
    arm: 'armv7',
    riscv64: 'riscv64gc',
    ppc64: os.endianness() === 'LE' ? 'powerpc64le' : 'powerpc64',
    s390x: 's390x',
  };
  const cpu = cpus[process.arch];
  if (!cpu) {
    return [];
  }
  switch (process.platform) {
    case 'linux': {
      const abi = cpu === 'armv7' ? 'eabihf' : '';
      const musl = `${cpu}-unknown-linux-musl${abi}`;
      // Static musl builds run on glibc hosts too.
      return isMusl() ? [musl] : [`${cpu}-unknown-linux-gnu${abi}`, musl];
    }
    case 'darwin':
      // Apple silicon runs x86_64 builds under Rosetta.
      return cpu === 'aarch64'
        ? ['aarch64-apple-darwin', 'universal2-apple-darwin', 'x86_64-apple-darwin']
        : [`${cpu}-apple-darwin`, 'universal2-apple-darwin'];
    case 'win32':
      return cpu === 'aarch64'
        ? ['aarch64-pc-windows-msvc', 'x86_64-pc-windows-msvc']
        : [`${cpu}-pc-windows-msvc`, `${cpu}-pc-windows-gnu`];
    case 'freebsd':
      return [`${cpu}-unknown-freebsd`];
    default:
      return [];
  }
}

// Runs `binPath` with this process's arguments and exits as it did.
function exec(binPath) {
  const result = childProcess.spawnSync(binPath, process.argv.slice(2), { stdio: 'inherit' });
  if (result.error) {
    console.error(`error: cannot run ${binPath}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.signal) {
    process.kill(process.pid, result.signal);
    return;
  }
  process.exit(result.status === null ? 1 : result.status);
}

module.exports = { hostTargets, exec };
