/**
 * Pod updates: only images, a shorter deadline, added tolerations and the
 * negative-grace-period fix may change; everything else is refused with
 * Kubernetes' message.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { POD_UPDATE_FORBIDDEN_MESSAGE } from '../../../control-plane/validation/pod-update.js';
import { expectCauses, expectValid, pod, type Json } from './helpers.js';

const { Required, Invalid, Forbidden } = FieldErrorType;

function updated(mutate: (p: Json) => void, base: Json = pod()): Json {
  const p = structuredClone(base);
  mutate(p);
  return p;
}

describe('allowed pod updates', () => {
  it('an unchanged pod, and label or annotation changes', () => {
    expectValid('Pod', pod(), pod());
    expectValid('Pod', updated((p) => (p['metadata'].labels = { app: 'web', tier: 'front' })), pod());
  });

  it('container images', () => {
    expectValid('Pod', updated((p) => (p['spec'].containers[0].image = 'nginx:1.26')), pod());
  });

  it('activeDeadlineSeconds: set, then lowered', () => {
    const withDeadline = updated((p) => (p['spec'].activeDeadlineSeconds = 600));
    expectValid('Pod', withDeadline, pod());
    expectValid('Pod', updated((p) => (p['spec'].activeDeadlineSeconds = 300), withDeadline), withDeadline);
  });

  it('added tolerations, and changed tolerationSeconds of existing ones', () => {
    expectValid('Pod', updated((p) => p['spec'].tolerations.push({ key: 'x', operator: 'Exists' })), pod());
    const noExecute = updated((p) => p['spec'].tolerations.push({ key: 'y', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }));
    expectValid('Pod', updated((p) => (p['spec'].tolerations[1].tolerationSeconds = 30), noExecute), noExecute);
  });

  it('terminationGracePeriodSeconds from negative to 1', () => {
    const negative = updated((p) => (p['spec'].terminationGracePeriodSeconds = -1));
    expectValid('Pod', updated((p) => (p['spec'].terminationGracePeriodSeconds = 1), negative), negative);
  });
});

describe('refused pod updates', () => {
  it('any other spec field, with the list of what may change and where it changed', () => {
    const [error] = expectCauses('Pod', updated((p) => (p['spec'].restartPolicy = 'Never')), [['spec', Forbidden]], pod());
    expect(error?.message).toContain(POD_UPDATE_FORBIDDEN_MESSAGE.replace(/^/, 'Forbidden: '));
    expect(error?.message).toContain('changed: spec.restartPolicy');
  });

  it.each([
    ['container resources', (p: Json) => (p['spec'].containers[0].resources.limits.cpu = '1')],
    ['container ports', (p: Json) => (p['spec'].containers[0].ports[0].containerPort = 81)],
    ['nodeName', (p: Json) => (p['spec'].nodeName = 'node-1')],
    ['volumes', (p: Json) => p['spec'].volumes.pop()],
    ['terminationGracePeriodSeconds', (p: Json) => (p['spec'].terminationGracePeriodSeconds = 5)],
  ])('%s', (_name, mutate) => {
    expectCauses('Pod', updated(mutate), [['spec', Forbidden]], pod());
  });

  it('adding or removing containers', () => {
    const [error] = expectCauses(
      'Pod',
      updated((p) => p['spec'].containers.push({ name: 'b', image: 'b' })),
      [['spec.containers', Forbidden]],
      pod(),
    );
    expect(error?.message).toBe('Forbidden: pod updates may not add or remove containers');
  });

  it('removing an image is reported once', () => {
    expectCauses('Pod', updated((p) => (p['spec'].containers[0].image = '')), [['spec.containers[0].image', Required]], pod());
  });

  it('activeDeadlineSeconds: raised, or removed', () => {
    const withDeadline = updated((p) => (p['spec'].activeDeadlineSeconds = 300));
    expectCauses('Pod', updated((p) => (p['spec'].activeDeadlineSeconds = 600), withDeadline), [['spec.activeDeadlineSeconds', Invalid]], withDeadline);
    expectCauses('Pod', pod(), [['spec.activeDeadlineSeconds', Invalid]], withDeadline);
  });

  it('changing or removing an existing toleration', () => {
    expectCauses('Pod', updated((p) => (p['spec'].tolerations[0].value = 'api')), [['spec.tolerations', Forbidden]], pod());
    expectCauses('Pod', updated((p) => p['spec'].tolerations.shift()), [['spec.tolerations', Forbidden]], pod());
  });

  it('a changed name', () => {
    expectCauses('Pod', updated((p) => (p['metadata'].name = 'web-1')), [['metadata.name', Invalid]], pod());
  });
});
