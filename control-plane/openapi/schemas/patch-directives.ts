/**
 * Strategic-merge directives on the published schemas
 * (`x-kubernetes-patch-merge-key`, `x-kubernetes-patch-strategy`), which
 * kubectl's client-side apply reads to compute its patches.
 *
 * They are derived from the rules the API server applies
 * (control-plane/patch/patch-schemas.ts), the one source of truth: what
 * kubectl is told and what the server does cannot drift apart. Those rules are
 * trees per kind; here they are walked along the published schemas and
 * written onto the definition properties they reach. A definition shared by
 * several kinds (PodSpec in Pod, Deployment and ReplicaSet) must get the same
 * directives from each.
 */
import type { PatchSchema } from '../../patch/patch-schemas.js';
import { DEFINITIONS_PREFIX, type Definitions, type PatchStrategy, type Schema } from './builders.js';

export interface PatchDirective {
  /** Absent for lists of scalars merged as sets (finalizers) and for retainKeys objects. */
  readonly mergeKey?: string;
  readonly strategy: PatchStrategy;
}

/** Definition name → property → directive. */
export type PatchDirectives = Readonly<Record<string, Readonly<Record<string, PatchDirective>>>>;

export interface KindPatchRules {
  /** '' for the core group. */
  readonly group: string;
  readonly kind: string;
  readonly schema: PatchSchema;
}

function definitionOfRef(schema: Schema | undefined): string | undefined {
  const ref = schema?.$ref;
  return ref?.startsWith(DEFINITIONS_PREFIX) ? ref.slice(DEFINITIONS_PREFIX.length) : undefined;
}

/**
 * Walks each kind's rules along `definitions` and collects the directives.
 * Fields the published schemas leave out are skipped (nothing to annotate);
 * kinds without a published schema likewise. Throws when two kinds disagree
 * on a shared definition.
 */
export function mustDerivePatchDirectives(definitions: Definitions, rules: readonly KindPatchRules[]): PatchDirectives {
  const out: Record<string, Record<string, PatchDirective>> = {};
  const record = (definition: string, property: string, directive: PatchDirective): void => {
    const byProperty = (out[definition] ??= {});
    const earlier = byProperty[property];
    if (earlier !== undefined && (earlier.mergeKey !== directive.mergeKey || earlier.strategy !== directive.strategy)) {
      throw new Error(`conflicting patch rules for ${definition}.${property}: ` +
        `${earlier.strategy}/${earlier.mergeKey ?? '-'} and ${directive.strategy}/${directive.mergeKey ?? '-'}`);
    }
    byProperty[property] = directive;
  };
  const walk = (definition: string, rule: PatchSchema): void => {
    for (const [field, fieldRule] of Object.entries(rule.fields ?? {})) {
      const property = definitions[definition]?.properties?.[field];
      if (property === undefined) continue;
      if (fieldRule.patchStrategy !== undefined) {
        record(definition, field, {
          strategy: fieldRule.patchStrategy,
          ...(fieldRule.patchMergeKey === undefined ? {} : { mergeKey: fieldRule.patchMergeKey }),
        });
      }
      const inner = definitionOfRef(property.type === 'array' ? property.items : property);
      if (fieldRule.fields !== undefined && inner !== undefined) walk(inner, fieldRule);
    }
  };
  for (const r of rules) {
    for (const [name, schema] of Object.entries(definitions)) {
      if (schema['x-kubernetes-group-version-kind']?.some((g) => g.group === r.group && g.kind === r.kind)) walk(name, r.schema);
    }
  }
  return out;
}

/**
 * Returns `definitions` with the directives written onto the properties they
 * name. Throws when a directive names a missing definition or property, or
 * merges (by key or as a set) something that is not a list.
 */
export function mustApplyPatchDirectives(definitions: Definitions, directives: PatchDirectives): Definitions {
  const out: Record<string, Schema> = { ...definitions };
  for (const [name, byProperty] of Object.entries(directives)) {
    const schema = out[name];
    if (schema?.properties === undefined) throw new Error(`patch directives name ${name}, which is not an object definition`);
    const properties: Record<string, Schema> = { ...schema.properties };
    for (const [property, directive] of Object.entries(byProperty)) {
      const target = properties[property];
      if (target === undefined) throw new Error(`patch directive for ${name}.${property}: no such property`);
      const merges = directive.strategy === 'merge' || directive.strategy === 'merge,retainKeys';
      if (merges && target.type !== 'array') throw new Error(`patch directive for ${name}.${property}: merges a property that is not a list`);
      properties[property] = {
        ...target,
        ...(directive.mergeKey === undefined ? {} : { 'x-kubernetes-patch-merge-key': directive.mergeKey }),
        'x-kubernetes-patch-strategy': directive.strategy,
      };
    }
    out[name] = { ...schema, properties };
  }
  return out;
}
