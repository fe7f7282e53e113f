// What both gossipsub harnesses share: the node and its settings (docs/benchmarks.md states them),
// the topology, the paced publisher, the duplicate count and the loopback byte counter.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { readFileSync } from 'node:fs'

export const TOPIC = 'compare'

/** --name value pairs, with defaults for the job's parameters. */
export function parseArgs (argv) {
  const a = Object.fromEntries(argv.reduce((acc, x, i, all) => {
    if (x.startsWith('--')) acc.push([x.slice(2), all[i + 1]])
    return acc
  }, []))
  return {
    raw: a,
    nodes: Number(a.nodes ?? 20),
    rate: Number(a.rate ?? 1000),
    duration: Number(a.duration ?? 8),
    size: Number(a.size ?? 100),
    degree: Number(a.degree ?? 4),
    warmup: Number(a.warmup ?? 4),
    sign: a.sign === 'true'
  }
}

/**
 * One gossipsub node on 127.0.0.1. Defaults except: StrictNoSign (unless sign: StrictSign, its
 * default, each message signed by its publisher's key) with the message id taken from the
 * payload's sequence number; floodPublish off; the IP-colocation penalty off (every peer is
 * on 127.0.0.1); the connection monitor off and the inbound threshold raised (both misfire on
 * one busy event loop).
 */
export function createNode (sign = false) {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 100000, maxConnections: 1000 },
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: sign ? 'StrictSign' : 'StrictNoSign',
        msgIdFn: (msg) => msg.data.subarray(8, 16), // the sequence number: unique per message
        fastMsgIdFn: (msg) => Buffer.from(msg.data.subarray(8, 16)).toString('hex'),
        floodPublish: false,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  })
}

/** Calls onCopy for every copy of a TOPIC message the node receives, before de-duplication. */
export function countCopies (node, onCopy) {
  const gs = node.services.pubsub
  const orig = gs.handleReceivedMessage.bind(gs)
  gs.handleReceivedMessage = async (from, rpcMsg) => {
    if (rpcMsg.topic === TOPIC) onCopy()
    return orig(from, rpcMsg)
  }
}

/** Whom node i dials: node i-1 (so the graph is connected) and random earlier nodes, up to degree. */
export function dialTargets (i, degree) {
  const targets = new Set([i - 1])
  while (targets.size < Math.min(degree, i)) targets.add(Math.floor(Math.random() * i))
  return [...targets]
}

/**
 * Publishes rate msg/s for seconds: size-byte payloads with the send time (from clockNs) at 0,
 * the sequence number at 8 and the measured flag at 16. Returns how many were published.
 */
export async function publishFor (gs, { seconds, rate, measured, size, clockNs, seq }) {
  const start = process.hrtime.bigint()
  const total = Math.floor(seconds * rate)
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / 1e9 * rate))
    while (sent < due) {
      const buf = Buffer.alloc(size)
      buf.writeBigInt64BE(clockNs(), 0)
      buf.writeBigInt64BE(BigInt(++seq.value), 8)
      buf[16] = measured ? 1 : 0
      gs.publish(TOPIC, buf).catch(() => {})
      sent++
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  return sent
}

/** A delivered payload as a Buffer (gossipsub hands out Uint8Arrays, Buffers only on some paths). */
export function payload (raw) {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
}

/** Bytes received on the loopback interface so far. */
export function loBytes () {
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n')) {
    const m = line.trim().match(/^lo:\s*(\d+)/)
    if (m) return Number(m[1])
  }
  return 0
}

/** The job's JSON line, from what was measured. */
export function report ({ system, settings, a, published, delivered, copies, latencies, elapsed, lo, cpuS }) {
  const total = delivered.reduce((x, y) => x + y, 0)
  latencies.sort((x, y) => x - y)
  const pct = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null
  return JSON.stringify({
    system,
    nodes: a.nodes, rate: a.rate, size: a.size, duration_s: a.duration, published,
    completeness_min: Math.min(...delivered.map((d) => Math.min(1, d / published))),
    latency_ms_p50: pct(0.5), latency_ms_p99: pct(0.99), latency_ms_max: latencies[latencies.length - 1] ?? null,
    duplicates_per_delivery: total ? (copies - total) / total : null,
    delivered_per_s: total / elapsed,
    wire_bytes_per_delivery: total ? lo / total : null,
    cpu_s_per_1000_deliveries: total ? cpuS / (total / 1000) : null,
    settings
  })
}
