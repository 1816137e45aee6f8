import { Box, Table, Tbody, Td, Th, Thead, Tr, Typography } from "@strapi/design-system";
import { formatCount } from "../format.ts";

interface TopListProps {
  title: string;
  /** Header of the count column. */
  countLabel: string;
  /** Shown instead of an empty table. */
  emptyText: string;
  items: Array<{ name: string; count: number }>;
}

/** A titled two-column table (name, count), for the busiest rooms and content types. */
export function TopList({ title, countLabel, emptyText, items }: TopListProps) {
  return (
    <Box>
      <Box paddingBottom={3}>
        <Typography variant="delta" tag="h2">{title}</Typography>
      </Box>
      {items.length === 0
        ? (
          <Box background="neutral0" hasRadius shadow="tableShadow" padding={6}>
            <Typography textColor="neutral600">{emptyText}</Typography>
          </Box>
        )
        : (
          <Table colCount={2} rowCount={items.length + 1}>
            <Thead>
              <Tr>
                <Th>
                  <Typography variant="sigma">Name</Typography>
                </Th>
                <Th>
                  <Typography variant="sigma">{countLabel}</Typography>
                </Th>
              </Tr>
            </Thead>
            <Tbody>
              {items.map((item) => (
                <Tr key={item.name}>
                  <Td>
                    <Typography ellipsis title={item.name}>{item.name}</Typography>
                  </Td>
                  <Td>
                    <Typography>{formatCount(item.count)}</Typography>
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        )}
    </Box>
  );
}
