/**
 * Counts per topology domain — (topologyKey, node label value) — shared by
 * InterPodAffinity and PodTopologySpread. A node without the key's label is in
 * no domain of that key.
 */
export class TopologyCounts {
  private readonly byKey = new Map<string, Map<string, number>>();

  /** Adds `by` to the domain of `key` that the node with `labels` is in; does nothing when the node lacks the label. */
  add(key: string, labels: Readonly<Record<string, string>>, by: number): void {
    const value = labels[key];
    if (value === undefined) return;
    this.addDomain(key, value, by);
  }

  /** Adds to a domain by its value; `by` = 0 registers the domain without counting anything. */
  addDomain(key: string, value: string, by: number): void {
    let values = this.byKey.get(key);
    if (values === undefined) this.byKey.set(key, (values = new Map()));
    values.set(value, (values.get(value) ?? 0) + by);
  }

  /** The count of the node's domain of `key`; undefined when the node lacks the label. */
  at(key: string, labels: Readonly<Record<string, string>>): number | undefined {
    const value = labels[key];
    return value === undefined ? undefined : this.byKey.get(key)?.get(value) ?? 0;
  }

  /** Whether the node is in a domain (of any key) with a positive count. */
  anyPositiveAt(labels: Readonly<Record<string, string>>): boolean {
    for (const [key, values] of this.byKey) {
      const value = labels[key];
      if (value !== undefined && (values.get(value) ?? 0) > 0) return true;
    }
    return false;
  }

  /** The sum over every key of the node's domain's count. */
  sumAt(labels: Readonly<Record<string, string>>): number {
    let total = 0;
    for (const [key, values] of this.byKey) {
      const value = labels[key];
      if (value !== undefined) total += values.get(value) ?? 0;
    }
    return total;
  }

  /** The domains of `key` (values with their counts). */
  domains(key: string): ReadonlyMap<string, number> {
    return this.byKey.get(key) ?? new Map();
  }

  get isEmpty(): boolean {
    return this.byKey.size === 0;
  }
}
