import { Badge, Table, Tbody, Td, Th, Thead, Tr, Typography } from "@strapi/design-system";
import type { NodeOverview } from "../contract.ts";
import { formatCount, formatRate, formatSince } from "../format.ts";

const COLUMNS = [
  "Node",
  "Transport",
  "Connections",
  "Public · role · token",
  "Events in · out",
  "Slow consumers",
  "Recovered · not · away",
  "Redis",
  "Started",
];

/** One row per node, as each node reported itself. */
export function NodesTable({ nodes }: { nodes: NodeOverview[] }) {
  return (
    <Table colCount={COLUMNS.length} rowCount={nodes.length + 1}>
      <Thead>
        <Tr>
          {COLUMNS.map((column) => (
            <Th key={column}>
              <Typography variant="sigma">{column}</Typography>
            </Th>
          ))}
        </Tr>
      </Thead>
      <Tbody>
        {nodes.map((node) => <NodeRow key={node.node} node={node} />)}
      </Tbody>
    </Table>
  );
}

function NodeRow({ node }: { node: NodeOverview }) {
  const { audiences, recovery } = node;
  return (
    <Tr data-testid="io-node-row">
      <Td>
        <Typography fontWeight="bold">{node.node}</Typography>
      </Td>
      <Td>
        <Badge>{node.transport}</Badge>
      </Td>
      <Td>
        <Typography>{formatCount(node.connections)}</Typography>
      </Td>
      <Td>
        <Typography>
          {formatCount(audiences.public)} · {formatCount(audiences.role)} ·{" "}
          {formatCount(audiences.token)}
        </Typography>
      </Td>
      <Td>
        <Typography
          title={`${formatCount(node.eventsIn.total)} in, ${
            formatCount(node.eventsOut.total)
          } out in total`}
        >
          {formatRate(node.eventsIn.perSecond)} · {formatRate(node.eventsOut.perSecond)}
        </Typography>
      </Td>
      <Td>
        <Typography>{formatCount(node.backpressureDisconnects)}</Typography>
      </Td>
      <Td>
        <Typography title="Connection-state recovery: clients that resumed, that could not, and sessions away now">
          {recovery === null
            ? "off"
            : `${formatCount(recovery.recovered)} · ${formatCount(recovery.notRecovered)} · ${
              formatCount(recovery.sessions)
            }`}
        </Typography>
      </Td>
      <Td>
        <Typography>{node.redis === null ? "—" : node.redis ? "connected" : "down"}</Typography>
      </Td>
      <Td>
        <Typography title={node.startedAt}>{formatSince(node.startedAt)}</Typography>
      </Td>
    </Tr>
  );
}
