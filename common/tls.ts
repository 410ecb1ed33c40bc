import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  certPath: string;
  /** True when the certificate was generated for development rather than supplied by config. */
  selfSigned: boolean;
}

/** A development certificate made before it was a plain leaf (it was a CA able to sign anything), or unreadable. */
function needsNewDevCert(certPath: string, keyPath: string): boolean {
  if (!fs.existsSync(certPath) || !fs.existsSync(keyPath)) return true;
  try {
    return new X509Certificate(fs.readFileSync(certPath)).ca;
  } catch {
    return true;
  }
}

/**
 * Production passes certificate and key paths. Development generates a self-signed P-256 certificate for
 * 127.0.0.1/localhost once into the data folder; clients trust it with NODE_EXTRA_CA_CERTS=<certPath>. It is a leaf
 * (`CA:FALSE`, no certificate signing): trusting it trusts this one server, never certificates signed with its key.
 */
export async function loadTls(opts: { certPath?: string; keyPath?: string; dataDir: string }): Promise<TlsMaterial> {
  if (opts.certPath || opts.keyPath) {
    if (!opts.certPath || !opts.keyPath) throw new Error('set both the TLS certificate and key paths, or neither');
    return {
      cert: fs.readFileSync(opts.certPath, 'utf8'),
      key: fs.readFileSync(opts.keyPath, 'utf8'),
      certPath: path.resolve(opts.certPath),
      selfSigned: false,
    };
  }
  const dir = path.join(opts.dataDir, 'tls');
  const certPath = path.join(dir, 'dev-cert.pem');
  const keyPath = path.join(dir, 'dev-key.pem');
  if (needsNewDevCert(certPath, keyPath)) {
    fs.mkdirSync(dir, { recursive: true });
    const now = new Date();
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - 86_400_000),
      notAfterDate: new Date(now.getTime() + 10 * 365 * 86_400_000),
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    // Write to temp names then rename, so concurrent first starts never read a half-written pair.
    const tmp = `.${process.pid}.${Date.now()}`;
    fs.writeFileSync(keyPath + tmp, pems.private, { mode: 0o600 });
    fs.writeFileSync(certPath + tmp, pems.cert);
    fs.renameSync(keyPath + tmp, keyPath);
    fs.renameSync(certPath + tmp, certPath);
  }
  return { cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8'), certPath, selfSigned: true };
}
