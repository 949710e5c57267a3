# idflow worker / API image. The same image runs `idflow worker` and `idflow api`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The sources are not here yet: npm's postinstall skips the web console's build, done below.
RUN npm ci --omit=dev
COPY . .
# The web console (console/dist): the code is read-only at run time, so it is built here, not at start.
RUN node --import tsx scripts/build-console.ts && test -f console/dist/index.html
# The workflow bundle, built once here: workers load it instead of bundling (seconds and ~200 MB each).
RUN node --import tsx app/workflow-bundle.ts

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
# MALLOC_ARENA_MAX: glibc's per-thread arenas (Temporal's Rust threads, the workflow thread) hold freed
# memory; two arenas took a worker with 10,000 waiting runs from 394 to 365 MB (docs/decisions.md).
ENV NODE_ENV=production IDFLOW_DATA_DIR=/data MALLOC_ARENA_MAX=2
# Not root: the image's `node` user (uid 1000) owns only the data directory; the code stays read-only to it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
ENTRYPOINT ["node", "bin/idflow.js"]
CMD ["worker"]
