/**
 * `kubectl get events` as Kubernetes 1.32 renders it: LAST SEEN TYPE REASON OBJECT
 * MESSAGE, and with -o wide also SUBOBJECT SOURCE FIRST SEEN COUNT NAME (the wide
 * columns sit between and after the others, so their order is the server's).
 *
 * Reads core/v1 Events and events.k8s.io/v1 Events alike: both are one stored
 * type in Kubernetes, printed by one printer; the newer API only renames fields
 * (regarding, note, deprecatedFirstTimestamp, ...).
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import {
  column,
  fields,
  int,
  nameColumn,
  optionalFields,
  since,
  str,
  timestampMs,
  type Fields,
  type Printer,
} from './printer.js';

const eventDoc = {
  lastTimestamp: 'The time at which the most recent occurrence of this event was recorded.',
  type: 'Type of this event (Normal, Warning), new types could be added in the future',
  reason:
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  involvedObject: 'The object that this event is about.',
  fieldPath:
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.',
  source: 'The component reporting this event. Should be a short machine understandable string.',
  message: 'A human-readable description of the status of this operation.',
  firstTimestamp: 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
  count: 'The number of times this event has occurred.',
} as const;

export const eventPrinter: Printer = {
  columns: [
    column('Last Seen', 'string', eventDoc.lastTimestamp),
    column('Type', 'string', eventDoc.type),
    column('Reason', 'string', eventDoc.reason),
    column('Object', 'string', eventDoc.involvedObject),
    column('Subobject', 'string', eventDoc.fieldPath, { priority: 1 }),
    column('Source', 'string', eventDoc.source, { priority: 1 }),
    column('Message', 'string', eventDoc.message),
    column('First Seen', 'string', eventDoc.firstTimestamp, { priority: 1 }),
    column('Count', 'string', eventDoc.count, { priority: 1 }),
    { ...nameColumn, priority: 1 },
  ],
  cells(event, nowMs) {
    const e = coreEventView(event);
    const series = optionalFields(e.series);
    // A new-style event has an eventTime and no firstTimestamp.
    const firstSeen = since(timestampMs(e.firstTimestamp) !== undefined ? e.firstTimestamp : e.eventTime, nowMs);
    let lastSeen = timestampMs(e.lastTimestamp) !== undefined ? since(e.lastTimestamp, nowMs) : firstSeen;
    let count = int(e.count);
    if (series !== undefined) {
      lastSeen = since(series['lastObservedTime'], nowMs);
      count = int(series['count']);
    } else if (count === 0) {
      count = 1; // a singleton event of the new API carries no count
    }
    const involved = fields(e.involvedObject);
    const kind = str(involved['kind']).toLowerCase();
    const name = str(involved['name']);
    return [
      lastSeen,
      str(e.type),
      str(e.reason),
      name === '' ? kind : `${kind}/${name}`,
      str(involved['fieldPath']),
      eventSource(fields(e.source), str(e.reportingController), str(e.reportingInstance)),
      str(e.message).trim(),
      firstSeen,
      count,
      str(event.metadata.name),
    ];
  },
};

/** The fields the printer reads, named as in core/v1. */
interface CoreEventView {
  involvedObject: unknown;
  reason: unknown;
  message: unknown;
  type: unknown;
  source: unknown;
  firstTimestamp: unknown;
  lastTimestamp: unknown;
  eventTime: unknown;
  count: unknown;
  series: unknown;
  reportingController: unknown;
  reportingInstance: unknown;
}

function coreEventView(event: KubeObject): CoreEventView {
  const e: Fields = event;
  if (str(event.apiVersion).startsWith('events.k8s.io/')) {
    return {
      involvedObject: e['regarding'],
      reason: e['reason'],
      message: e['note'],
      type: e['type'],
      source: e['deprecatedSource'],
      firstTimestamp: e['deprecatedFirstTimestamp'],
      lastTimestamp: e['deprecatedLastTimestamp'],
      eventTime: e['eventTime'],
      count: e['deprecatedCount'],
      series: e['series'],
      reportingController: e['reportingController'],
      reportingInstance: e['reportingInstance'],
    };
  }
  return {
    involvedObject: e['involvedObject'],
    reason: e['reason'],
    message: e['message'],
    type: e['type'],
    source: e['source'],
    firstTimestamp: e['firstTimestamp'],
    lastTimestamp: e['lastTimestamp'],
    eventTime: e['eventTime'],
    count: e['count'],
    series: e['series'],
    reportingController: e['reportingComponent'],
    reportingInstance: e['reportingInstance'],
  };
}

/** `kubelet, node-1`: source component (else reporting controller), then host (else reporting instance) when known. */
function eventSource(source: Fields, reportingController: string, reportingInstance: string): string {
  const component = str(source['component']) || reportingController;
  const instance = str(source['host']) || reportingInstance;
  return instance === '' ? component : `${component}, ${instance}`;
}
