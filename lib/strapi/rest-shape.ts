/**
 * What REST could return for a content type, cut out of whatever the server passed to `emit()`.
 *
 * Strapi's content-API output sanitizer only knows a schema's attributes: it removes private and password
 * attributes and relations the reader may not follow, and lets every other key through. A document that
 * carries an extra key (`{ ...article, owner: userRow }`) would hand that row, password hash included, to
 * every reader. {@link restShape} runs first and keeps only what a REST response can hold: the attributes
 * of the type plus `id` and `documentId`, walking relations against their target type, components against
 * their component, dynamic-zone entries by their `__component` and media against `plugin::upload.file`, the
 * way Strapi's own traversal (`@strapi/utils` `traverse-entity`, `remove-unrecognized-fields`) walks them.
 * A scalar attribute keeps only a scalar (a user row under `title` is not REST's either); `json` and
 * `blocks` values are sent as given and not walked, as Strapi sends them.
 *
 * The walk is bounded whatever the input: at most {@link MAX_DEPTH} levels of nested entries (deeper ones
 * are dropped), a reference back to an entry it is inside of is dropped (REST output has no cycles), and
 * more than {@link MAX_ENTRIES} entries in one document is a `RangeError` rather than an exponential walk
 * over shared references.
 *
 * @module
 */
import type { StrapiAttribute, StrapiLike, StrapiModel } from "./strapi-like.ts";

/**
 * Levels of nested entries (relations, components, media, dynamic-zone entries) kept below the document;
 * an entry deeper than this is dropped. REST responses are as deep as the populate a client asks for, and
 * no realistic populate comes near it.
 */
export const MAX_DEPTH = 32;

/** Entries (the document, each related entry, component, media file) one document may hold in all. */
export const MAX_ENTRIES = 100_000;

/** The model every media value is an entry of. */
const MEDIA_UID = "plugin::upload.file";

/** Keys besides attributes that REST returns on an entry, each with the only kind of value it can have there. */
const ID_KEYS: Readonly<Record<string, (value: unknown) => boolean>> = {
  id: (value) => typeof value === "number" || typeof value === "string",
  documentId: (value) => typeof value === "string",
};
/** On a relation value: `{ count }` answers `populate: { relation: { count: true } }`. */
const RELATION_KEYS = { ...ID_KEYS, count: (value: unknown) => typeof value === "number" };
/** On a morph-to entry: the content type it belongs to. */
const MORPH_KEYS = { ...ID_KEYS, __type: (value: unknown) => typeof value === "string" };
/** On a dynamic-zone entry: its component. */
const DYNAMIC_ZONE_KEYS = {
  ...ID_KEYS,
  __component: (value: unknown) => typeof value === "string",
};

/** Attribute types whose value is JSON of any shape, sent as given (Strapi does not walk them either). */
const JSON_TYPES = new Set(["json", "blocks"]);

/** Where {@link restShape} looks up relation targets and components. */
export type ModelLookup = Pick<StrapiLike, "getModel">;

/**
 * A copy of `data` with only the keys REST could return for `model`, nested entries cut the same way.
 * Not a sanitizer: private fields and relations a reader may not follow are still there, for Strapi's
 * sanitizer to remove per reader. A list is cut entry by entry; anything that is not an object (`null`, an
 * id) is returned as given, as the sanitizer would return it.
 *
 * @throws {RangeError} when the document holds more than {@link MAX_ENTRIES} entries.
 */
export function restShape(strapi: ModelLookup, model: StrapiModel, data: unknown): unknown {
  const walk = new Walk(strapi);
  if (!Array.isArray(data)) return isRecord(data) ? walk.entry(data, model, ID_KEYS, 0) : data;
  // A list inside the list is no REST response (and the sanitizer would take its entries for documents).
  return data.filter((entry) => !Array.isArray(entry)).map((
    entry,
  ) => (isRecord(entry) ? walk.entry(entry, model, ID_KEYS, 0) : entry));
}

/** One cut of one document: its entry count and the entries it is inside of (to drop cycles). */
class Walk {
  readonly #strapi: ModelLookup;
  readonly #inside = new Set<object>();
  #entries = 0;

  constructor(strapi: ModelLookup) {
    this.#strapi = strapi;
  }

  /** The attributes of `model` and the `extra` keys of `record`; `undefined` for a cycle or past the depth. */
  entry(
    record: Record<string, unknown>,
    model: StrapiModel,
    extra: typeof ID_KEYS,
    depth: number,
  ): Record<string, unknown> | undefined {
    if (depth > MAX_DEPTH || this.#inside.has(record)) return undefined;
    this.#entries += 1;
    if (this.#entries > MAX_ENTRIES) {
      throw new RangeError(
        `emit(): 'data' holds more than ${MAX_ENTRIES} entries (documents, components, media); send less or send identifiers`,
      );
    }
    this.#inside.add(record);
    try {
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(record)) {
        const value = record[key];
        // Own attributes only: `constructor` or `__proto__` must not find Object.prototype's members.
        const attribute = Object.hasOwn(model.attributes, key) ? model.attributes[key] : undefined;
        const kept = attribute
          ? this.#attribute(attribute, value, depth)
          : extraValue(extra, key, value);
        if (kept !== undefined) copy[key] = kept;
      }
      return copy;
    } finally {
      this.#inside.delete(record);
    }
  }

  /** The value of one attribute as REST could return it; `undefined` drops the key. */
  #attribute(attribute: StrapiAttribute, value: unknown, depth: number): unknown {
    switch (attribute.type) {
      case "relation": {
        if (typeof attribute.relation === "string" && attribute.relation.startsWith("morphTo")) {
          return this.#nested(value, depth, (entry) => this.#contentType(entry.__type), MORPH_KEYS);
        }
        const target = this.#contentType(attribute.target);
        return this.#nested(value, depth, () => target, RELATION_KEYS);
      }
      case "media": {
        const file = this.#contentType(MEDIA_UID);
        return this.#nested(value, depth, () => file, ID_KEYS);
      }
      case "component": {
        const component = this.#component(attribute.component);
        return this.#nested(value, depth, () => component, ID_KEYS);
      }
      case "dynamiczone": {
        // REST's dynamic zone is always a list; an entry names one of the zone's components.
        if (!Array.isArray(value)) return value === null ? null : undefined;
        const allowed = Array.isArray(attribute.components) ? attribute.components : [];
        const componentOf = ({ __component: uid }: Record<string, unknown>) =>
          typeof uid === "string" && allowed.includes(uid) ? this.#component(uid) : undefined;
        return this.#nested(value, depth, componentOf, DYNAMIC_ZONE_KEYS);
      }
      default:
        // A scalar attribute holds a scalar (or a Date, before serialization); an object or list there is not REST's.
        return JSON_TYPES.has(attribute.type) || isScalar(value) ? value : undefined;
    }
  }

  /**
   * A nested value: one entry or a list of entries, each cut against the model `modelOf` picks for it
   * (entries without one are dropped). Ids and `null` stay as given; a list inside a list is not REST's.
   */
  #nested(
    value: unknown,
    depth: number,
    modelOf: (entry: Record<string, unknown>) => StrapiModel | undefined,
    extra: typeof ID_KEYS,
  ): unknown {
    const one = (item: unknown): unknown => {
      if (!isRecord(item)) return Array.isArray(item) ? undefined : item;
      const model = modelOf(item);
      return model ? this.entry(item, model, extra, depth + 1) : undefined;
    };
    if (!Array.isArray(value)) return one(value);
    const list: unknown[] = [];
    for (const item of value) {
      const kept = one(item);
      if (kept !== undefined) list.push(kept);
    }
    return list;
  }

  #contentType(uid: unknown): StrapiModel | undefined {
    const model = typeof uid === "string" ? this.#strapi.getModel(uid) : undefined;
    return model?.modelType === "contentType" ? model : undefined;
  }

  #component(uid: unknown): StrapiModel | undefined {
    const model = typeof uid === "string" ? this.#strapi.getModel(uid) : undefined;
    return model?.modelType === "component" ? model : undefined;
  }
}

/** `value` when `key` is one of the `extra` keys and `value` is what REST has there; else `undefined`. */
function extraValue(extra: typeof ID_KEYS, key: string, value: unknown): unknown {
  return Object.hasOwn(extra, key) && extra[key]!(value) ? value : undefined;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== "object" || value instanceof Date;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
