import { Alert, Box, Flex, Grid, Typography } from "@strapi/design-system";
import { Layouts, Page, useFetchClient, useRBAC } from "@strapi/strapi/admin";
import { ConnectionsTable } from "../components/connections-table.tsx";
import { NodesTable } from "../components/nodes-table.tsx";
import { TopList } from "../components/top-list.tsx";
import { TotalsCards } from "../components/totals-cards.tsx";
import type { Overview } from "../contract.ts";
import { usePolling } from "../hooks/use-polling.ts";
import { PERMISSIONS } from "../permissions.ts";

const POLL_MS = 2_000;

/** The plugin's page: live totals per node, busiest rooms and content types, and the connections. */
export function RealtimePage() {
  return (
    <Page.Protect permissions={PERMISSIONS.read}>
      <Page.Title>Realtime</Page.Title>
      <RealtimeOverview />
    </Page.Protect>
  );
}

function RealtimeOverview() {
  const { get } = useFetchClient();
  const { allowedActions } = useRBAC(PERMISSIONS.disconnect);
  const { data: overview, error } = usePolling(
    async (signal) => (await get<{ data: Overview }>("/io/overview", { signal })).data.data,
    "overview",
    POLL_MS,
  );

  if (overview === undefined) {
    return error === undefined ? <Page.Loading /> : <Page.Error />;
  }
  // The server decides; the RBAC hook only keeps the button away while permissions load.
  const canDisconnect = overview.canDisconnect && allowedActions.canDisconnect === true;
  return (
    <Page.Main>
      <Layouts.Header
        title="Realtime"
        subtitle={`strapi-io on ${overview.nodes.length} node${
          overview.nodes.length === 1 ? "" : "s"
        }`}
      />
      <Layouts.Content>
        <Flex direction="column" alignItems="stretch" gap={6}>
          {error !== undefined && (
            <Alert variant="danger" title="Not updating" closeLabel="Close">
              The last request failed; showing the previous answer.
            </Alert>
          )}
          {overview.missingNodes > 0 && (
            <Alert variant="warning" title="Incomplete" closeLabel="Close">
              {overview.missingNodes} node{overview.missingNodes === 1 ? "" : "s"}{" "}
              did not answer in time; the totals leave them out.
            </Alert>
          )}
          <TotalsCards totals={overview.totals} />
          <Box>
            <Box paddingBottom={3}>
              <Typography variant="delta" tag="h2">Nodes</Typography>
            </Box>
            <NodesTable nodes={overview.nodes} />
          </Box>
          <Grid.Root gap={4}>
            <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
              <TopList
                title="Busiest rooms"
                countLabel="Sockets"
                emptyText="No app or entity rooms in use"
                items={overview.rooms.map(({ namespace, name, sockets }) => ({
                  name: namespace === "/" ? name : `${namespace} ${name}`,
                  count: sockets,
                }))}
              />
            </Grid.Item>
            <Grid.Item col={6} s={12} direction="column" alignItems="stretch">
              <TopList
                title="Busiest content types"
                countLabel="Events"
                emptyText="No content events yet"
                items={overview.contentTypes.map(({ uid, events }) => ({
                  name: uid,
                  count: events,
                }))}
              />
            </Grid.Item>
          </Grid.Root>
          <ConnectionsTable canDisconnect={canDisconnect} />
        </Flex>
      </Layouts.Content>
    </Page.Main>
  );
}
