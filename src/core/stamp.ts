/**
 * The base class of private-field stamps: a subclass's constructor calls `super(object)`, which
 * returns `object`, so the subclass's private fields are added to that object — one it did not
 * create, frozen ones included (private fields are not properties: freezing does not stop them,
 * and `Object.keys`, spreads, JSON and proxies do not see them). Reading one back is
 * `#field in object`, a property-slot lookup: no `WeakMap` or `WeakSet` entry per object, whose
 * ephemeron tables slow every garbage collection once they hold millions of objects.
 *
 * Used by the sealed mark of validated event copies (`event-validation.ts`) and the parsed
 * causal stamps of events (`causal-context.ts`).
 *
 * @module
 */

/** Returns the object it is given: `class Mark extends Stamp { #x … }` stamps that object. */
export const Stamp = function (object: object) {
  return object
} as unknown as new (object: object) => object
