import { Box, Flex, Grid, Typography } from "@strapi/design-system";
import type { Overview } from "../contract.ts";
import { formatCount, formatRate } from "../format.ts";

/** The cluster-wide totals, one card each. */
export function TotalsCards({ totals }: { totals: Overview["totals"] }) {
  const { audiences } = totals;
  return (
    <Grid.Root gap={4}>
      <StatCard
        testId="io-total-connections"
        label="Connections"
        value={formatCount(totals.connections)}
        detail={`${formatCount(audiences.public)} public · ${formatCount(audiences.role)} role · ${
          formatCount(audiences.token)
        } token`}
      />
      <StatCard
        testId="io-events-in"
        label="Events in"
        value={formatRate(totals.eventsInPerSecond)}
        detail="from clients"
      />
      <StatCard
        testId="io-events-out"
        label="Events out"
        value={formatRate(totals.eventsOutPerSecond)}
        detail="to clients"
      />
      <StatCard
        testId="io-backpressure"
        label="Slow-consumer disconnects"
        value={formatCount(totals.backpressureDisconnects)}
        detail="send buffer stayed full"
      />
    </Grid.Root>
  );
}

interface StatCardProps {
  testId: string;
  label: string;
  value: string;
  detail: string;
}

function StatCard({ testId, label, value, detail }: StatCardProps) {
  return (
    <Grid.Item col={3} s={6} xs={12} direction="column" alignItems="stretch">
      <Box background="neutral0" hasRadius shadow="tableShadow" padding={5}>
        <Flex direction="column" alignItems="flex-start" gap={1}>
          <Typography variant="sigma" textColor="neutral600">{label}</Typography>
          <Typography variant="alpha" tag="p" data-testid={testId}>{value}</Typography>
          <Typography variant="pi" textColor="neutral600">{detail}</Typography>
        </Flex>
      </Box>
    </Grid.Item>
  );
}
