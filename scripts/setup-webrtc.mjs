#!/usr/bin/env node
// `npm run setup:webrtc`: builds (or reuses) the mediasoup worker binary OFFLINE against Debian's system libraries and
// verifies it. mediasoup's own postinstall downloads a prebuilt worker or meson subprojects from the internet, which is
// unreachable here, so package.json denies it (allowScripts) and this script does the build instead. The binary lives in
// a cache outside node_modules (`npm ci` wipes node_modules), keyed by the mediasoup version and the hash of the patch
// below, so a new mediasoup or a changed patch builds afresh. sfu/webrtc/worker-bin.ts finds the same path at run time.
// Plain .mjs (no tsx) so it runs before anything else is built; exit code 0 = worker ready.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEBIAN_PACKAGES = [
  'meson',
  'ninja-build',
  'flatbuffers-compiler',
  'libflatbuffers-dev',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'pkg-config',
  'g++',
];

const log = (msg) => process.stdout.write(`[setup:webrtc] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[setup:webrtc] FAILED: ${msg}\n`);
  process.exit(1);
};

// The system-library wiring that replaces every subproject() of worker/meson.build (subprojects need downloads).
const SYSTEM_DEPS = `
# resound: system libraries (Debian packages) instead of downloaded meson subprojects.
openssl_dep = dependency('openssl', version: '>= 3.0')
libuv_dep = dependency('libuv', version: '>= 1.44')
libsrtp_dep = dependency('libsrtp2', version: '>= 2.5')
usrsctp_dep = dependency('usrsctp')
flatbuffers_dep = dependency('flatbuffers')
absl_dep = [
  dependency('absl_flat_hash_map'),
  dependency('absl_flat_hash_set'),
  dependency('absl_inlined_vector'),
  dependency('absl_btree'),
  dependency('absl_memory'),
  dependency('absl_optional'),
  dependency('absl_strings'),
]

# flatbuffers schemas subdirectory.
subdir('fbs')

# Add current build directory so libwebrtc has access to FBS folder.
libwebrtc_include_directories = include_directories('include', 'fbs')
subdir('deps/libwebrtc')

dependencies = [
  absl_dep,
  openssl_dep,
  libuv_dep,
  libsrtp_dep,
  usrsctp_dep,
  flatbuffers_dep,
  flatbuffers_generator_dep,
  libwebrtc_dep,
]

link_whole = [
  libwebrtc,
]

`;

const LIBWEBRTC_DEPS = `local_include_directories = declare_dependency(
  include_directories: include_directories('libwebrtc')
)

libwebrtc = library(
  'libwebrtc',
  libwebrtc_sources,
  dependencies: [
    local_include_directories,
    openssl_dep,
    absl_dep,
    flatbuffers_dep,
    libuv_dep,
  ],
  include_directories: libwebrtc_include_directories,
  cpp_args: cpp_args,
)

libwebrtc_dep = declare_dependency(
  dependencies: [
    local_include_directories,
    absl_dep,
  ],
  include_directories: include_directories('.'),
  link_with: libwebrtc,
)
`;

/**
 * The patch: [file, kind, from, to]. 'slice' replaces from the first `from` marker up to (not including) the `to`
 * marker with the given text; 'replace' replaces one exact string. Every step must match or the build stops (a new
 * mediasoup version must be re-checked, not half-patched).
 */
const PATCH = [
  ['meson.build', 'replace', "meson_version: '>= 1.1.0'", "meson_version: '>= 1.0.1'"],
  ['meson.build', 'slice', 'openssl_proj = subproject(', "if host_machine.system() == 'windows'", SYSTEM_DEPS],
  // The Catch2 test binary and fuzzer reference the removed subprojects; drop everything after the worker executable.
  ['meson.build', 'cut-from', 'test_sources = [', ''],
  ['deps/libwebrtc/meson.build', 'slice', 'abseil_cpp_proj = subproject(', '\0EOF', LIBWEBRTC_DEPS],
  // Debian installs libsrtp2's header under srtp2/.
  ['include/DepLibSRTP.hpp', 'replace', '#include <srtp.h>', '#include <srtp2/srtp.h>'],
  ['include/RTC/SrtpSession.hpp', 'replace', '#include <srtp.h>', '#include <srtp2/srtp.h>'],
  // mediasoup's BIO callback answers 1 to every post-operation call except a bare BIO_CB_RETURN, so BIO_ctrl() on the
  // outgoing BIO returns 1 for any query. Debian's OpenSSL is built with KTLS, so libssl asks BIO_get_ktls_send(),
  // gets "yes", skips allocating its write buffer and SIGSEGVs writing the first DTLS record (mediasoup's bundled
  // OpenSSL is built without KTLS, where that macro is the constant 0). Post-operation calls must return ret.
  [
    'src/RTC/DtlsTransport.cpp',
    'replace',
    'long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;',
    'long resultOfcallback = (operationType & BIO_CB_RETURN) ? static_cast<long>(ret) : 1;',
  ],
  // libsrtp 3 renamed srtp_remove_stream.
  [
    'include/RTC/SrtpSession.hpp',
    'replace',
    'srtp_stream_remove(this->session, uint32_t{ htonl(ssrc) });',
    'srtp_remove_stream(this->session, uint32_t{ htonl(ssrc) });',
  ],
  // Error codes that exist only in versatica's libsrtp 3 fork.
  [
    'src/DepLibSRTP.cpp',
    'replace',
    '{ srtp_err_status_pkt_idx_adv,   "packet index advanced, reset needed" },\n\t{ srtp_err_status_buffer_small,  "out buffer is too small" },\n\t{ srtp_err_status_cryptex_err,   "unsupported cryptex operation" }',
    '{ srtp_err_status_pkt_idx_adv,   "packet index advanced, reset needed" }',
  ],
  // The four libsrtp 3 calls (separate in/out buffers, size_t lengths, mki index) back to libsrtp2's in-place API.
  [
    'src/RTC/SrtpSession.cpp',
    'replace',
    `const srtp_err_status_t err = srtp_protect(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* rtp*/ *data,
		  /*size_t rtp_len*/ *len,
		  /*uint8_t* srtp*/ encryptBuffer,
		  /*size_t* srtp_len*/ std::addressof(encryptLen),
		  /*size_t mki_index*/ 0);`,
    `std::memcpy(encryptBuffer, *data, *len);
		int protectLen = static_cast<int>(*len);
		const srtp_err_status_t err = srtp_protect(this->session, encryptBuffer, &protectLen);
		encryptLen = static_cast<size_t>(protectLen);`,
  ],
  [
    'src/RTC/SrtpSession.cpp',
    'replace',
    `const srtp_err_status_t err = srtp_unprotect(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* srtp*/ data,
		  /*size_t srtp_len*/ *len,
		  /*uint8_t* rtp*/ data,
		  /*size_t* rtp_len*/ std::addressof(decryptLen));`,
    `int unprotectLen = static_cast<int>(*len);
		const srtp_err_status_t err = srtp_unprotect(this->session, data, &unprotectLen);
		decryptLen = static_cast<size_t>(unprotectLen);`,
  ],
  [
    'src/RTC/SrtpSession.cpp',
    'replace',
    `const srtp_err_status_t err = srtp_protect_rtcp(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* rtcp*/ *data,
		  /*size_t rtcp_len*/ *len,
		  /*uint8_t* srtcp*/ encryptBuffer,
		  /*size_t* srtcp_len*/ std::addressof(encryptLen),
		  /*size_t mki_index*/ 0);`,
    `std::memcpy(encryptBuffer, *data, *len);
		int protectLen = static_cast<int>(*len);
		const srtp_err_status_t err = srtp_protect_rtcp(this->session, encryptBuffer, &protectLen);
		encryptLen = static_cast<size_t>(protectLen);`,
  ],
  [
    'src/RTC/SrtpSession.cpp',
    'replace',
    `const srtp_err_status_t err = srtp_unprotect_rtcp(
		  /*srtp_t ctx*/ this->session,
		  /*const uint8_t* srtcp*/ data,
		  /*size_t srtcp_len*/ *len,
		  /*uint8_t* rtcp*/ data,
		  /*size_t* rtcp_len*/ std::addressof(decryptLen));`,
    `int unprotectLen = static_cast<int>(*len);
		const srtp_err_status_t err = srtp_unprotect_rtcp(this->session, data, &unprotectLen);
		decryptLen = static_cast<size_t>(unprotectLen);`,
  ],
];
const MESON_OPTIONS = ['--buildtype=release', '-Dms_disable_liburing=true', '--wrap-mode=nodownload'];

/** The patched text of one worker source file (unchanged when no step names it). */
function patched(file, src) {
  let out = src;
  for (const [f, kind, from, to, text] of PATCH) {
    if (f !== file) continue;
    const at = out.indexOf(from);
    if (at < 0) fail(`patch step for ${file} no longer matches (mediasoup changed?): ${from.slice(0, 60)}`);
    if (kind === 'replace') out = out.slice(0, at) + to + out.slice(at + from.length);
    else if (kind === 'cut-from') out = out.slice(0, at) + to;
    else {
      const end = to === '\0EOF' ? out.length : out.indexOf(to, at);
      if (end < 0) fail(`patch end marker for ${file} not found: ${to}`);
      out = out.slice(0, at) + text + out.slice(end);
    }
  }
  return out;
}

const SKIP = /^(subprojects|test|fuzzer|out|prebuild)$/;

/**
 * Mirrors the package's worker sources into `dest`, patched, writing only files whose content changed: an
 * interrupted or re-patched build then recompiles only what the change touches (ninja goes by mtime).
 */
function syncSources(from, dest, rel = '') {
  mkdirSync(join(dest, rel), { recursive: true });
  for (const entry of readdirSync(join(from, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (!rel && SKIP.test(entry.name)) continue;
    if (entry.isDirectory()) {
      syncSources(from, dest, r);
      continue;
    }
    const want = PATCH.some(([f]) => f === r)
      ? Buffer.from(patched(r, readFileSync(join(from, r), 'utf8')))
      : readFileSync(join(from, r));
    const target = join(dest, r);
    if (existsSync(target) && readFileSync(target).equals(want)) continue;
    writeFileSync(target, want);
  }
}

/** A worker started with an empty environment exits 41 (no MEDIASOUP_VERSION): mediasoup's own sanity check. */
export function verifyWorker(bin) {
  const r = spawnSync(bin, [], { env: {}, timeout: 10_000 });
  return { ok: r.status === 41, status: r.status, error: r.error?.message ?? r.stderr?.toString().trim() };
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${cmd} exited ${r.status ?? r.error?.message}`);
}

function missingPackages() {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...DEBIAN_PACKAGES], {
    encoding: 'utf8',
  });
  if (r.error) return [];
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0].split(':')[0]),
  );
  return DEBIAN_PACKAGES.filter((p) => !installed.has(p));
}

/** mediasoup's exports hide package.json: walk up from its resolved entry point. */
export function mediasoupPackageJson() {
  let dir = dirname(createRequire(join(root, 'package.json')).resolve('mediasoup'));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith('mediasoup')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('mediasoup is not installed (npm ci)');
    dir = up;
  }
  return join(dir, 'package.json');
}

export function patchHash() {
  return createHash('sha256').update(JSON.stringify({ PATCH, MESON_OPTIONS })).digest('hex').slice(0, 12);
}

export function cachedWorkerPath(version) {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'resound', `mediasoup-worker-${version}-${patchHash()}`, 'mediasoup-worker');
}

function main() {
  let pkgPath;
  try {
    pkgPath = mediasoupPackageJson();
  } catch (err) {
    fail(err.message);
  }
  const version = JSON.parse(readFileSync(pkgPath, 'utf8')).version;
  const bin = cachedWorkerPath(version);
  if (existsSync(bin) && verifyWorker(bin).ok) {
    log(`mediasoup ${version} worker ready (cached): ${bin}`);
    return;
  }
  const missing = missingPackages();
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      fail(`missing Debian packages (run as root or install them): apt-get install -y ${missing.join(' ')}`);
    }
    run('apt-get', ['update']);
    run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  // The build tree is per mediasoup version (not per patch) so a re-run after a patch change or an interruption
  // is incremental; it is removed once the binary is cached.
  const buildRoot = join(dirname(dirname(bin)), `mediasoup-build-${version}`);
  const src = join(buildRoot, 'worker');
  syncSources(join(dirname(pkgPath), 'worker'), src);
  log(`building mediasoup ${version} worker (patch ${patchHash()}) in ${buildRoot} — several minutes`);
  if (!existsSync(join(buildRoot, 'out', 'build.ninja'))) {
    run('meson', ['setup', ...MESON_OPTIONS, join(buildRoot, 'out'), src]);
  }
  // The flatbuffers headers first: the generator target is not an order dependency of the C++ objects.
  run('ninja', ['-C', join(buildRoot, 'out'), 'fbs/FBS']);
  // SETUP_WEBRTC_JOBS overrides ninja's default parallelism (cores + 2) on shared, busy machines.
  const jobs = process.env.SETUP_WEBRTC_JOBS ? ['-j', process.env.SETUP_WEBRTC_JOBS] : [];
  run('ninja', ['-C', join(buildRoot, 'out'), ...jobs, 'mediasoup-worker']);
  const built = join(buildRoot, 'out', 'mediasoup-worker');
  const check = verifyWorker(built);
  if (!check.ok) fail(`built worker failed its check (expected exit 41, got ${check.status}: ${check.error})`);
  mkdirSync(dirname(bin), { recursive: true });
  renameSync(built, `${bin}.tmp`);
  chmodSync(`${bin}.tmp`, 0o755);
  renameSync(`${bin}.tmp`, bin);
  rmSync(buildRoot, { recursive: true, force: true });
  log(`mediasoup ${version} worker built and verified: ${bin}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
