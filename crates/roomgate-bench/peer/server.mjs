// The Node.js peer of roomgate-bench: the token endpoints of roomgate, written the way a Node team would,
// with fastify and jose (Ed25519), one worker per core through node:cluster.
//
// It mints the same access + refresh pair (same header, same claim shape, same response body) and refreshes
// with the same checks. It keeps no store: the API key and the room are given in the environment and checked
// in memory, so it does strictly less work per request than roomgate (which reads SQLite on each request).
//
//   PORT=8181 PEER_API_KEY=rg_... PEER_ROOM_ID=<uuid> node server.mjs
import cluster from "node:cluster";
import { createHash, generateKeyPairSync, randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";

import Fastify from "fastify";
import { SignJWT, calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, jwtVerify } from "jose";

const ISSUER = "telnyx_access_token";
const AUDIENCE = "telnyx_access_token";

if (cluster.isPrimary) {
  // One key for every worker, as roomgate has one signing key per replica.
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const env = {
    PEER_PRIVATE_PEM: privateKey.export({ type: "pkcs8", format: "pem" }),
    PEER_PUBLIC_PEM: publicKey.export({ type: "spki", format: "pem" }),
  };
  const workers = Number(process.env.PEER_WORKERS || availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork(env);
  let listening = 0;
  cluster.on("listening", () => {
    if (++listening === workers) console.log(`peer listening on ${process.env.PORT} with ${workers} workers`);
  });
  cluster.on("exit", (worker, code) => {
    console.error(`peer worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  await worker();
}

async function worker() {
  const privateKey = await importPKCS8(process.env.PEER_PRIVATE_PEM, "EdDSA");
  const publicKey = await importSPKI(process.env.PEER_PUBLIC_PEM, "EdDSA");
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  const keyHashes = new Set([sha256(process.env.PEER_API_KEY)]);
  const rooms = new Set([process.env.PEER_ROOM_ID]);

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

  function fail(reply, status, code, title) {
    return reply.code(status).send({ errors: [{ code, title, detail: title }] });
  }

  function ttl(body, field, min, max, dflt) {
    const v = body?.[field];
    if (v === undefined || v === null) return dflt;
    if (!Number.isInteger(v) || v < min || v > max) return undefined;
    return v;
  }

  async function mint(typ, roomId, subjects, now, ttlSecs) {
    const exp = now + ttlSecs;
    const token = await new SignJWT({
      grants: [{ actions: ["join"], resources: [`telnyx:video:rooms:${roomId}`], subjects }],
      grants_version: "1.0.0",
      typ,
    })
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid })
      .setAudience(AUDIENCE)
      .setExpirationTime(exp)
      .setIssuedAt(now)
      .setIssuer(ISSUER)
      .setJti(randomUUID())
      .setNotBefore(Math.max(now - 1, 0))
      .setSubject("null")
      .sign(privateKey);
    return [token, new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z")];
  }

  app.post("/v2/rooms/:room/actions/create_access_token", async (req, reply) => {
    const auth = req.headers.authorization ?? "";
    const [scheme, key] = auth.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !key || !keyHashes.has(sha256(key.trim()))) {
      return fail(reply, 401, "10009", "Authentication failed");
    }
    const roomId = req.params.room;
    if (!rooms.has(roomId)) return fail(reply, 404, "10005", "Resource not found");
    const accessTtl = ttl(req.body, "ttl_secs", 10, 3600, 600);
    const refreshTtl = ttl(req.body, "refresh_token_ttl_secs", 60, 86400, 3600);
    if (accessTtl === undefined || refreshTtl === undefined) {
      return fail(reply, 422, "10033", "Value outside of range");
    }
    const now = Math.floor(Date.now() / 1000);
    const subjects = ["telnyx:users:default"];
    const [access, accessExp] = await mint("access", roomId, subjects, now, accessTtl);
    const [refresh, refreshExp] = await mint("refresh", roomId, subjects, now, refreshTtl);
    return reply.code(201).header("cache-control", "no-store").send({
      data: {
        access_token: access,
        access_token_expires_at: accessExp,
        refresh_token: refresh,
        refresh_token_expires_at: refreshExp,
      },
    });
  });

  app.post("/v2/rooms/:room/actions/refresh_access_token", async (req, reply) => {
    const roomId = req.params.room;
    const token = req.body?.refresh_token;
    if (typeof token !== "string") return fail(reply, 422, "10004", "Missing required parameter");
    const accessTtl = ttl(req.body, "ttl_secs", 10, 3600, 600);
    if (accessTtl === undefined) return fail(reply, 422, "10033", "Value outside of range");
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, publicKey, {
        algorithms: ["EdDSA"],
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: "JWT",
      }));
    } catch {
      return fail(reply, 403, "10010", "Forbidden");
    }
    const resource = `telnyx:video:rooms:${roomId}`;
    const grants = Array.isArray(claims.grants) ? claims.grants : [];
    const joins = grants.some((g) => g?.actions?.includes?.("join") && g?.resources?.includes?.(resource));
    if (claims.typ !== "refresh" || !joins || !rooms.has(roomId)) {
      return fail(reply, 403, "10010", "Forbidden");
    }
    const subjects = grants.flatMap((g) => (Array.isArray(g.subjects) ? g.subjects : []));
    const now = Math.floor(Date.now() / 1000);
    const [access, accessExp] = await mint("access", roomId, subjects, now, accessTtl);
    return reply
      .code(201)
      .header("cache-control", "no-store")
      .send({ data: { access_token: access, access_token_expires_at: accessExp } });
  });

  app.get("/readyz", async () => ({ status: "ok" }));

  await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT) });
}

function sha256(s) {
  return createHash("sha256").update(s).digest("hex");
}
