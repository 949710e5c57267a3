/**
 * How deeply a parsed JSON body nests, found without recursion, so a body of thousands of
 * levels is refused with a 400 before the schema validator (which recurses) ever sees it.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's body schema bounds nesting itself, without recursion and naming the field (POST /v1/events): the generic limit stands aside. */
    boundsBodyDepth?: boolean;
  }
}

export { MAX_BODY_DEPTH, nestsDeeperThan } from '../core/json.js';
