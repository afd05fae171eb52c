/**
 * Resource quantities ("100m", "0.5", "128Mi", "1G", "1e3") as numbers: the
 * subset of Kubernetes' resource.Quantity the agent needs to turn limits into
 * cgroup settings. Returns undefined for text that is not a quantity.
 */

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY_RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/;

export function parseQuantity(text: string | number | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  const m = QUANTITY_RE.exec(text.trim());
  if (m === null) return undefined;
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** CPU cores as millicores, rounded up (the kubelet's MilliValue). */
export function milliCpuOf(text: string | number | undefined): number | undefined {
  const cores = parseQuantity(text);
  return cores === undefined ? undefined : Math.ceil(cores * 1000 - 1e-9);
}

/** Bytes, rounded up. */
export function bytesOf(text: string | number | undefined): number | undefined {
  const n = parseQuantity(text);
  return n === undefined ? undefined : Math.ceil(n - 1e-9);
}
