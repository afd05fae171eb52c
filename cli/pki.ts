/**
 * The certificates of a local cluster made by `strake up`: a cluster CA and a
 * serving certificate for the masters' HTTP APIs on loopback (127.0.0.1, ::1,
 * localhost), ECDSA P-256. kubectl only sends bearer tokens over TLS, so
 * without these a kubeconfig with a token could not work. Existing files are
 * kept, like the other credentials.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** How long the generated certificates are valid; a local cluster outliving this gets new ones from the next `strake up`. */
const VALIDITY_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface ClusterPki {
  readonly caCertFile: string;
  readonly servingCertFile: string;
  readonly servingKeyFile: string;
  /** The CA certificate, PEM: what kubeconfigs trust. */
  readonly caPem: string;
}

export async function ensurePki(dataDir: string): Promise<ClusterPki> {
  const files = {
    caCertFile: join(dataDir, 'ca.crt'),
    caKeyFile: join(dataDir, 'ca.key'),
    servingCertFile: join(dataDir, 'apiserver.crt'),
    servingKeyFile: join(dataDir, 'apiserver.key'),
  };
  const existing = await readFile(files.caCertFile, 'utf8').catch(() => undefined);
  const valid = existing !== undefined && new x509.X509Certificate(existing).notAfter.getTime() > Date.now() + DAY_MS;
  if (valid && (await readFile(files.servingCertFile).then(() => true, () => false))) {
    return { caCertFile: files.caCertFile, servingCertFile: files.servingCertFile, servingKeyFile: files.servingKeyFile, caPem: existing };
  }
  const ca = await issueCa();
  const serving = await issueServing(ca);
  await writeFile(files.caCertFile, ca.cert.toString('pem') + '\n');
  await writeFile(files.caKeyFile, await keyPem(ca.keys.privateKey), { mode: 0o600 });
  await writeFile(files.servingCertFile, serving.cert.toString('pem') + '\n');
  await writeFile(files.servingKeyFile, await keyPem(serving.keys.privateKey), { mode: 0o600 });
  return { caCertFile: files.caCertFile, servingCertFile: files.servingCertFile, servingKeyFile: files.servingKeyFile, caPem: ca.cert.toString('pem') + '\n' };
}

interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

function validity(): { notBefore: Date; notAfter: Date } {
  // Backdated an hour, so a clock a little behind still accepts it.
  return { notBefore: new Date(Date.now() - 60 * 60 * 1000), notAfter: new Date(Date.now() + VALIDITY_DAYS * DAY_MS) };
}

async function issueCa(): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=strake-ca',
    ...validity(),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issueServing(ca: Issued): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=strake-apiserver',
    issuer: ca.cert.subject,
    ...validity(),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  return { cert, keys };
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}
