// --- binary-install.js: the host's targets (above, shared with the `packages` style's host.js)
// and getting the host's archive: on first use it downloads the archive built for this
// platform, checks its sha256, unpacks it into dist/ next to this file, and from then on the
// binary is just run. No install script runs it (pnpm 10 blocks those): run.js does, or
// install.js ahead of time.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

const INSTALL_DIR = path.join(__dirname, 'dist');
const MAX_REDIRECTS = 10;

function download(url, redirectsLeft) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : url.startsWith('http:') ? http : null;
    if (!client) {
      reject(new Error(`cannot download ${url}: only http and https URLs are supported`));
      return;
    }
    const request = client.get(url, (response) => {
      const status = response.statusCode;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        if (redirectsLeft <= 0) {
          reject(new Error(`too many redirects downloading ${url}`));
          return;
        }
        const next = new URL(response.headers.location, url).toString();
        resolve(download(next, redirectsLeft - 1));
        return;
      }
      if (status !== 200) {
        response.resume();
        reject(new Error(`failed to download ${url}: HTTP ${status}`));
        return;
      }
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    request.on('error', (err) => reject(new Error(`failed to download ${url}: ${err.message}`)));
  });
}

function runQuietly(cmd, args) {
  return childProcess.spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function unpack(archive, dest) {
  let result;
  if (archive.endsWith('.zip') && process.platform !== 'win32') {
    result = runQuietly('unzip', ['-q', '-o', archive, '-d', dest]);
  } else {
    // Windows 10 and later ship bsdtar, which also reads zips.
    result = runQuietly('tar', ['-xf', archive, '-C', dest]);
    if (result.error && process.platform === 'win32' && archive.endsWith('.zip')) {
      const quote = (s) => `'${s.replace(/'/g, "''")}'`;
      result = runQuietly('powershell.exe', [
        '-NoProfile',
        '-NonInteractive',
        '-Command',
        `Expand-Archive -LiteralPath ${quote(archive)} -DestinationPath ${quote(dest)} -Force`,
      ]);
    }
  }
  if (result.error) {
    throw new Error(`cannot unpack ${path.basename(archive)}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(`cannot unpack ${path.basename(archive)}: ${String(result.stderr).trim()}`);
  }
}

// Returns the path of `binName`, of the App `manifest` describes (binary.js), downloading and
// unpacking the host's archive first if needed.
async function ensureInstalled(manifest, binName) {
  const exe = process.platform === 'win32' ? '.exe' : '';
  const binPath = path.join(INSTALL_DIR, binName + exe);
  if (fs.existsSync(binPath)) {
    return binPath;
  }
  const targets = hostTargets();
  const artifact = targets
    .map((target) => manifest.artifacts.find((a) => a.target === target))
    .find(Boolean);
  if (!artifact) {
    const supported = manifest.artifacts.map((a) => a.target).join(', ');
    throw new Error(
      `no prebuilt ${manifest.app_name} ${manifest.app_version} for ${process.platform}/${process.arch}; supported targets: ${supported}`
    );
  }
  if (!artifact.sha256) {
    throw new Error(`no sha256 is known for ${artifact.file_name}; refusing to install it`);
  }
  const base = process.env[`${manifest.env_prefix}_DOWNLOAD_URL`] || manifest.download_url;
  const url = `${base.replace(/\/+$/, '')}/${artifact.file_name}`;
  const bytes = await download(url, MAX_REDIRECTS);
  const actual = crypto.createHash('sha256').update(bytes).digest('hex');
  if (actual !== artifact.sha256) {
    throw new Error(
      `checksum mismatch for ${artifact.file_name}: expected ${artifact.sha256}, got ${actual}`
    );
  }

  // Unpack beside dist/ and rename it into place, so a half-unpacked archive is never used.
  const staging = fs.mkdtempSync(path.join(__dirname, '.unpack-'));
  try {
    const archive = path.join(staging, artifact.file_name);
    fs.writeFileSync(archive, bytes);
    const out = path.join(staging, 'out');
    fs.mkdirSync(out);
    unpack(archive, out);
    const root = artifact.root_dir ? path.join(out, artifact.root_dir) : out;
    for (const bin of manifest.binaries) {
      const file = path.join(root, bin + exe);
      if (!fs.existsSync(file)) {
        throw new Error(`${artifact.file_name} does not contain ${bin + exe}`);
      }
      if (!exe) {
        fs.chmodSync(file, 0o755);
      }
    }
    try {
      fs.renameSync(root, INSTALL_DIR);
    } catch (err) {
      // Another launcher running at the same time may have won the race.
      if (!fs.existsSync(binPath)) {
        throw err;
      }
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return binPath;
}

module.exports = { hostTargets, exec, ensureInstalled };
