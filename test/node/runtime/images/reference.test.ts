import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../../node/runtime/images/errors.js';
import { normalizeReference, parseReference, registryApiHost } from '../../../../node/runtime/images/reference.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('image references normalize like Docker', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['user/app', 'docker.io/user/app:latest'],
    ['quay.example/org/app:v2', 'quay.example/org/app:v2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b/c:t', 'localhost:5000/a/b/c:t'],
    ['127.0.0.1:29150/test/busybox:1', '127.0.0.1:29150/test/busybox:1'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`],
    ['a.b__c-d--e', 'docker.io/library/a.b__c-d--e:latest'],
  ])('%s -> %s', (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it.each([
    ['', 'empty'],
    ['Busybox', 'lowercase'],
    ['busybox:', 'tag'],
    ['busybox:-x', 'tag'],
    ['busybox@sha256:abc', 'digest'],
    ['a//b', 'path component'],
    ['a/-b', 'path component'],
    ['a'.repeat(64).replace(/a/g, 'f'), 'image id'],
    [`x/${'a'.repeat(300)}`, 'longer than'],
  ])('refuses %j (%s)', (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe('InvalidReference');
    expect((err as ImageError).message).toContain(why);
  });

  it('splits domain, path, tag and digest', () => {
    expect(parseReference('localhost:5000/x:1')).toEqual({ domain: 'localhost:5000', path: 'x', tag: '1', digest: undefined });
    expect(parseReference(`x@${D}`)).toEqual({ domain: 'docker.io', path: 'library/x', tag: undefined, digest: D });
    expect(registryApiHost('docker.io')).not.toBe('docker.io');
    expect(registryApiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
