/**
 * Makes sure a container's image is present before it is created, by its
 * imagePullPolicy (Always: pull every time; IfNotPresent: pull when missing;
 * Never: fail when missing), with the kubelet's image back-off: after a failed
 * pull the same image of the same pod is not pulled again before the back-off
 * has passed (ImagePullBackOff), doubling from 10 s to 300 s. Each step is
 * an event about the container, as the kubelet's image manager records it.
 */
import type { Container, Pod } from '../../proto/k8s/core-v1.js';
import type { CriRuntime } from '../cri/runtime.js';
import type { Clock } from '../../control-plane/client/clock.js';
import type { EventType } from '../../control-plane/client/events/event-recorder.js';
import { goDuration, type Backoff } from './backoff.js';
import { errorText } from './errors.js';
import { PodEventReason, type ContainerEvents } from './pod-events.js';
import type { WaitingReason } from './pod-status.js';

export const ImagePullReason = {
  ErrImagePull: 'ErrImagePull',
  ImagePullBackOff: 'ImagePullBackOff',
  ErrImageNeverPull: 'ErrImageNeverPull',
  InvalidImageName: 'InvalidImageName',
} as const;

type RecordEvent = (type: EventType, reason: PodEventReason, message: string) => void;

export type PullOutcome = { readonly ok: true } | { readonly ok: false; readonly waiting: WaitingReason; readonly retryInMs: number | undefined };

/** The policy a container gets when it names none: Always for `:latest` or untagged images, else IfNotPresent (the API server's defaulting). */
export function pullPolicyOf(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (c.imagePullPolicy !== undefined) return c.imagePullPolicy;
  const image = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export class ImagePuller {
  constructor(
    private readonly runtime: CriRuntime,
    private readonly backoff: Backoff,
    private readonly clock: Clock,
    private readonly events: ContainerEvents,
  ) {}

  async ensure(pod: Pod, c: Container): Promise<PullOutcome> {
    const image = c.image ?? '';
    const event: RecordEvent = (type, reason, message) => this.events.event(pod, c.name, type, reason, message);
    if (image === '') {
      event('Warning', PodEventReason.InspectFailed, `Failed to apply default image tag "": container ${c.name} names no image`);
      return { ok: false, waiting: { reason: ImagePullReason.InvalidImageName, message: `container ${c.name} names no image` }, retryInMs: undefined };
    }
    const policy = pullPolicyOf(c);
    if (policy !== 'Always') {
      const st = await this.runtime.imageStatus({ image: { image, annotations: {} }, verbose: false });
      if (st.image !== null && st.image !== undefined) {
        event('Normal', PodEventReason.Pulled, `Container image "${image}" already present on machine`);
        return { ok: true };
      }
      if (policy === 'Never') {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        event('Warning', PodEventReason.ErrImageNeverPull, message);
        return { ok: false, waiting: { reason: ImagePullReason.ErrImageNeverPull, message }, retryInMs: undefined };
      }
    }
    return this.pull(pod.metadata.uid ?? '', image, event);
  }

  private async pull(podUid: string, image: string, event: RecordEvent): Promise<PullOutcome> {
    const key = `${podUid}/${image}`;
    const now = this.clock.nowMs();
    const waitMs = this.backoff.remainingSinceUpdateMs(key, now);
    if (waitMs > 0) {
      // Normal, as the kubelet has it: the Warning is the "Error: ImagePullBackOff" that follows.
      event('Normal', PodEventReason.BackOff, `Back-off pulling image "${image}"`);
      return { ok: false, waiting: { reason: ImagePullReason.ImagePullBackOff, message: `Back-off pulling image "${image}"` }, retryInMs: waitMs };
    }
    event('Normal', PodEventReason.Pulling, `Pulling image "${image}"`);
    try {
      await this.runtime.pullImage({ image: { image, annotations: {} }, auth: null, sandbox_config: null });
      this.backoff.reset(key);
      event('Normal', PodEventReason.Pulled, `Successfully pulled image "${image}" in ${goDuration(this.clock.nowMs() - now)}`);
      return { ok: true };
    } catch (err) {
      this.backoff.next(key, now, now);
      const retryInMs = this.backoff.durationMs(key);
      event('Warning', PodEventReason.Failed, `Failed to pull image "${image}": ${errorText(err)}`);
      return { ok: false, waiting: { reason: ImagePullReason.ErrImagePull, message: `failed to pull image "${image}": ${errorText(err)} (next try in ${goDuration(retryInMs)})` }, retryInMs };
    }
  }
}
