// The comparison job on js-libp2p gossipsub: N nodes in this process on 127.0.0.1, each dialling
// about 4 others, one publisher at a fixed rate, 100-byte messages carrying a send timestamp and a
// sequence number. Prints one JSON object with the same fields as Overlay's cluster command.
//
// Settings (stated in docs/benchmarks.md): gossipsub defaults (D=6, Dlo=4, Dhi=12, heartbeat 1 s)
// except: StrictNoSign with a message id taken from the payload's sequence number (signing and
// verifying cost about 4x the throughput here, and our messages are not signed either);
// floodPublish off (a publisher sends to its mesh, as Overlay's does to its eager peers); the
// IP-colocation score penalty off (every peer is on 127.0.0.1); the connection monitor off and the
// inbound connection threshold raised (both misfire on one busy event loop).
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { readFileSync } from 'node:fs'

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]])
  return acc
}, []))
const N = Number(args.nodes ?? 20)
const RATE = Number(args.rate ?? 1000)
const DURATION = Number(args.duration ?? 8)
const SIZE = Number(args.size ?? 100)
const DEGREE = Number(args.degree ?? 4)
const WARMUP = Number(args.warmup ?? 4)
const TOPIC = 'compare'

function loBytes () {
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n')) {
    const m = line.trim().match(/^lo:\s*(\d+)/)
    if (m) return Number(m[1])
  }
  return 0
}

const msgId = (msg) => msg.data.subarray(8, 16) // the sequence number: unique per message
const nodes = []
for (let i = 0; i < N; i++) {
  nodes.push(await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 100000, maxConnections: 1000 },
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: msgId,
        fastMsgIdFn: (msg) => Buffer.from(msg.data.subarray(8, 16)).toString('hex'),
        floodPublish: false,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  }))
}

// Count every received copy (before de-duplication) to get duplicates per delivery.
let receivedCopies = 0
for (const n of nodes) {
  const gs = n.services.pubsub
  const orig = gs.handleReceivedMessage.bind(gs)
  gs.handleReceivedMessage = async (from, rpcMsg) => {
    if (rpcMsg.topic === TOPIC) receivedCopies++
    return orig(from, rpcMsg)
  }
}

// Topology: node i dials node i-1 (connected), plus random others until it has dialled DEGREE.
for (let i = 1; i < N; i++) {
  const targets = new Set([i - 1])
  while (targets.size < Math.min(DEGREE, i)) targets.add(Math.floor(Math.random() * i))
  for (const t of targets) await nodes[i].dial(nodes[t].getMultiaddrs()[0])
}

let measuring = false
const latencies = []
const delivered = new Array(N).fill(0)
for (let i = 1; i < N; i++) {
  const gs = nodes[i].services.pubsub
  gs.subscribe(TOPIC)
  gs.addEventListener('message', (evt) => {
    if (evt.detail.topic !== TOPIC) return
    const raw = evt.detail.data // a Uint8Array (a Buffer only on some paths)
    const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
    if (d[16] !== 1 || !measuring) return
    const sent = d.readBigInt64BE(0)
    latencies.push(Number(process.hrtime.bigint() - sent) / 1e6)
    delivered[i]++
  })
}
nodes[0].services.pubsub.subscribe(TOPIC)

// Warm-up: let the mesh form (several heartbeats) and carry some traffic.
const pub = nodes[0].services.pubsub
let seq = 0
async function publishFor (seconds, rate, measured) {
  const start = process.hrtime.bigint()
  const total = Math.floor(seconds * rate)
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / 1e9 * rate))
    while (sent < due) {
      const buf = Buffer.alloc(SIZE)
      buf.writeBigInt64BE(process.hrtime.bigint(), 0)
      buf.writeBigInt64BE(BigInt(++seq), 8)
      buf[16] = measured ? 1 : 0
      pub.publish(TOPIC, buf).catch(() => {})
      sent++
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  return sent
}
await new Promise((resolve) => setTimeout(resolve, WARMUP * 1000))
await publishFor(2, Math.min(RATE, 500), false)
await new Promise((resolve) => setTimeout(resolve, 1000))

measuring = true
const copies0 = receivedCopies
const lo0 = loBytes()
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
const published = await publishFor(DURATION, RATE, true)
// Settle: until everyone has everything, or nothing moved for 2 s.
let last = -1
let lastChange = Date.now()
while (Date.now() - lastChange < 2000) {
  const total = delivered.reduce((a, b) => a + b, 0)
  if (total >= published * (N - 1)) break
  if (total !== last) { last = total; lastChange = Date.now() }
  await new Promise((resolve) => setTimeout(resolve, 20))
}
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9
const cpu = process.cpuUsage(cpu0)
const lo = loBytes() - lo0
measuring = false
const totalDelivered = delivered.slice(1).reduce((a, b) => a + b, 0)
latencies.sort((a, b) => a - b)
const pct = (p) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : null
const completeness = delivered.slice(1).map((d) => Math.min(1, d / published))
const out = {
  system: 'js-libp2p gossipsub 14.1.2 (libp2p 2.10.0)',
  nodes: N, rate: RATE, size: SIZE, duration_s: DURATION, published,
  completeness_min: Math.min(...completeness),
  latency_ms_p50: pct(0.5), latency_ms_p99: pct(0.99), latency_ms_max: latencies[latencies.length - 1] ?? null,
  duplicates_per_delivery: totalDelivered ? (receivedCopies - copies0 - totalDelivered) / totalDelivered : null,
  delivered_per_s: totalDelivered / elapsed,
  wire_bytes_per_delivery: totalDelivered ? lo / totalDelivered : null,
  cpu_s_per_1000_deliveries: totalDelivered ? (cpu.user + cpu.system) / 1e6 / (totalDelivered / 1000) : null,
  settings: 'StrictNoSign, floodPublish=false, D=6/Dlo=4/Dhi=12, IPColocationFactorWeight=0, one process'
}
console.log(JSON.stringify(out))
await Promise.all(nodes.map((n) => n.stop()))
process.exit(0)
