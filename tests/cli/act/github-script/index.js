'use strict';
// The act tests' stand-in for actions/github-script: the `core` functions the generated
// workflow calls, written to the runner's command files as the real toolkit writes them.

const crypto = require('crypto');
const fs = require('fs');

function toFile(variable, name, value) {
  const file = process.env[variable];
  if (!file) {
    throw new Error(`${variable} is not set: not running under a runner`);
  }
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  fs.appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

const core = {
  exportVariable(name, value) {
    toFile('GITHUB_ENV', name, String(value));
    process.env[name] = String(value);
  },
  setOutput(name, value) {
    toFile('GITHUB_OUTPUT', name, String(value));
  },
  info(message) {
    console.log(message);
  },
  setFailed(message) {
    console.error(`::error::${message}`);
    process.exitCode = 1;
  },
};

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const script = process.env.INPUT_SCRIPT || '';
new AsyncFunction('core', 'require', 'process', script)(core, require, process).catch((err) => {
  core.setFailed(err && err.stack ? err.stack : String(err));
});
