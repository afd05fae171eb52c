/** The member's snapshot image (store/replica/replicated-state.ts): one msgpack map around the MVCC snapshot's bytes. */
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeCommand } from '../../store/mvcc/commands.js';
import { encodeProposal } from '../../store/replica/proposal.js';
import { ReplicatedState, decodeImage, encodeImage } from '../../store/replica/replicated-state.js';

const member = (id: number) => ({ id, name: `m${id}`, peerUrls: [`http://127.0.0.1:${id}`], clientUrls: [], isLearner: false });

describe('snapshot image', () => {
  it('is a msgpack map that any decoder reads as the packed object', () => {
    for (const members of [[], [member(1)], Array.from({ length: 20 }, (_, i) => member(i + 1))]) {
      const mvcc = new Uint8Array(70_000).map((_, i) => i % 253);
      const image = encodeImage({ mvcc, members, alarms: [{ memberId: 1, alarm: 'NOSPACE' }], removedMembers: [9] });
      const { mvcc: bytes, ...rest } = unpack(image) as { mvcc: Uint8Array };
      expect(rest).toEqual({ version: 1, members, alarms: [{ memberId: 1, alarm: 'NOSPACE' }], removedMembers: [9] });
      expect(Buffer.from(bytes).equals(Buffer.from(mvcc))).toBe(true);
      const decoded = decodeImage(image);
      expect(Buffer.from(decoded.mvcc).equals(Buffer.from(mvcc))).toBe(true);
      expect(decoded.members).toEqual(members);
      expect(decoded.removedMembers).toEqual([9]);
    }
  });

  it('streamed in chunks (a backup) is the same bytes as the one-buffer image', () => {
    const state = new ReplicatedState({ onResult: () => undefined, onMembersChanged: () => undefined });
    for (let i = 0; i < 200; i++) {
      const command = encodeCommand({ op: 'put', request: { key: Buffer.from(`k${i}`), value: Buffer.alloc(100, i), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } });
      state.apply([{ index: i + 1, term: 1, type: 'Normal', data: encodeProposal({ requestId: `r${i}`, kind: 'kv', command }) }]);
    }
    const whole = Buffer.from(state.snapshot());
    for (const chunkBytes of [5, 4096, whole.length * 2]) {
      const stream = state.snapshotStream(chunkBytes);
      expect(stream.byteLength).toBe(whole.length);
      expect(Buffer.concat([...stream.chunks]).equals(whole)).toBe(true);
    }
    expect(decodeImage(whole).members).toEqual([]);
  });

  it('decodes an image packed whole (as before the state was spliced in)', () => {
    const mvcc = new Uint8Array([1, 2, 3]);
    const whole = new Packr({ useRecords: false }).pack({ version: 1, mvcc, members: [member(2)], alarms: [], removedMembers: [] });
    expect(decodeImage(whole).members).toEqual([member(2)]);
  });
});
