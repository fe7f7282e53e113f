// The comparison job on js-libp2p gossipsub with every node in this process: N nodes on
// 127.0.0.1, each dialling about 4 others, one publisher at a fixed rate, 100-byte messages
// carrying a send timestamp and a sequence number. Prints one JSON line with the same fields as
// Overlay's cluster command. Settings: common.mjs.
import { TOPIC, parseArgs, createNode, countCopies, dialTargets, publishFor, payload, loBytes, report } from './common.mjs'

const a = parseArgs(process.argv.slice(2))
const N = a.nodes
const nodes = []
for (let i = 0; i < N; i++) nodes.push(await createNode(a.sign))
let copies = 0
for (const n of nodes) countCopies(n, () => copies++)
for (let i = 1; i < N; i++) {
  for (const t of dialTargets(i, a.degree)) await nodes[i].dial(nodes[t].getMultiaddrs()[0])
}

let measuring = false
const latencies = []
const delivered = new Array(N).fill(0)
for (let i = 1; i < N; i++) {
  const gs = nodes[i].services.pubsub
  gs.subscribe(TOPIC)
  gs.addEventListener('message', (evt) => {
    if (evt.detail.topic !== TOPIC) return
    const d = payload(evt.detail.data)
    if (d[16] !== 1 || !measuring) return
    latencies.push(Number(process.hrtime.bigint() - d.readBigInt64BE(0)) / 1e6)
    delivered[i]++
  })
}
nodes[0].services.pubsub.subscribe(TOPIC)

// Warm-up: let the mesh form (several heartbeats) and carry some traffic.
const pub = nodes[0].services.pubsub
const seq = { value: 0 }
const clockNs = () => process.hrtime.bigint()
await new Promise((resolve) => setTimeout(resolve, a.warmup * 1000))
await publishFor(pub, { seconds: 2, rate: Math.min(a.rate, 500), measured: false, size: a.size, clockNs, seq })
await new Promise((resolve) => setTimeout(resolve, 1000))

measuring = true
const copies0 = copies
const lo0 = loBytes()
const cpu0 = process.cpuUsage()
const t0 = process.hrtime.bigint()
const published = await publishFor(pub, { seconds: a.duration, rate: a.rate, measured: true, size: a.size, clockNs, seq })
// Settle: until everyone has everything, or nothing moved for 2 s.
let last = -1
let lastChange = Date.now()
while (Date.now() - lastChange < 2000) {
  const total = delivered.reduce((x, y) => x + y, 0)
  if (total >= published * (N - 1)) break
  if (total !== last) { last = total; lastChange = Date.now() }
  await new Promise((resolve) => setTimeout(resolve, 20))
}
const cpu = process.cpuUsage(cpu0)
measuring = false
console.log(report({
  system: 'js-libp2p gossipsub 14.1.2 (libp2p 2.10.0)',
  settings: (a.sign ? 'StrictSign' : 'StrictNoSign') + ', floodPublish=false, D=6/Dlo=4/Dhi=12, IPColocationFactorWeight=0, one process',
  a, published, delivered: delivered.slice(1), copies: copies - copies0, latencies,
  elapsed: Number(process.hrtime.bigint() - t0) / 1e9, lo: loBytes() - lo0, cpuS: (cpu.user + cpu.system) / 1e6
}))
await Promise.all(nodes.map((n) => n.stop()))
process.exit(0)
