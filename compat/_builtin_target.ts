// Where compat/_cluster.ts finds the object to build the cluster into, when
// `@x/cluster/register` asks for the runtime's own one (see _register_target.ts).

/** A global slot: the runtime's `node:cluster` object, when compat must become it. */
export const BUILTIN_TARGET: unique symbol = Symbol.for("@x/cluster/compat.builtin-target");
