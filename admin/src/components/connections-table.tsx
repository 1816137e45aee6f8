import * as React from "react";
import {
  Box,
  Button,
  EmptyStateLayout,
  Flex,
  Searchbar,
  Table,
  Tbody,
  Td,
  Th,
  Thead,
  Tr,
  Typography,
} from "@strapi/design-system";
import { Pagination, useDebounce, useFetchClient, useQueryParams } from "@strapi/strapi/admin";
import type { ConnectionRow, ConnectionsPage } from "../contract.ts";
import { formatSince } from "../format.ts";
import { usePolling } from "../hooks/use-polling.ts";
import { DisconnectDialog } from "./disconnect-dialog.tsx";

const POLL_MS = 2_000;
const SEARCH_DEBOUNCE_MS = 300;
const DEFAULT_PAGE_SIZE = 20;
/** The server's limit. */
const MAX_PAGE_SIZE = 100;
const COLUMNS = ["Who", "Role or token", "Transport", "Connected", "Rooms", "Node"];

/**
 * The connections, one page at a time (page and page size in the URL, like Strapi's list views), with a
 * search the server applies to the connection id, the user (id, username, email), the role and the token.
 */
export function ConnectionsTable({ canDisconnect }: { canDisconnect: boolean }) {
  const { get } = useFetchClient();
  const [{ query }, setQuery] = useQueryParams<{ page?: string; pageSize?: string }>();
  const page = positiveInteger(query.page, 1);
  const pageSize = Math.min(positiveInteger(query.pageSize, DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const [search, setSearch] = React.useState("");
  const debouncedSearch = useDebounce(search.trim(), SEARCH_DEBOUNCE_MS);
  const [selected, setSelected] = React.useState<ConnectionRow | null>(null);

  // A new search starts again from the first page.
  const previousSearch = React.useRef(debouncedSearch);
  React.useEffect(() => {
    if (previousSearch.current === debouncedSearch) return;
    previousSearch.current = debouncedSearch;
    if (page !== 1) setQuery({ page: "1" });
  }, [debouncedSearch]);

  const params = { search: debouncedSearch, page, pageSize };
  const { data, error, refresh } = usePolling(
    async (signal) => (await get<ConnectionsPage>("/io/connections", { params, signal })).data,
    JSON.stringify(params),
    POLL_MS,
  );
  const columns = canDisconnect ? [...COLUMNS, ""] : COLUMNS;

  return (
    <Flex direction="column" alignItems="stretch" gap={4}>
      <Flex justifyContent="space-between" gap={4}>
        <Typography variant="delta" tag="h2">Connections</Typography>
        <Box width="32rem">
          <Searchbar
            name="search"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            onClear={() => setSearch("")}
            clearLabel="Clear the search"
            placeholder="Search user, role, token or connection id"
          >
            Search connections
          </Searchbar>
        </Box>
      </Flex>
      {data === undefined
        ? (
          <EmptyStateLayout
            content={error === undefined
              ? "Loading connections…"
              : "Could not load the connections"}
          />
        )
        : data.data.length === 0
        ? (
          <EmptyStateLayout
            content={debouncedSearch === "" ? "No connections" : "No connection matches the search"}
          />
        )
        : (
          <Table colCount={columns.length} rowCount={data.data.length + 1}>
            <Thead>
              <Tr>
                {columns.map((column) => (
                  <Th key={column}>
                    <Typography variant="sigma">{column}</Typography>
                  </Th>
                ))}
              </Tr>
            </Thead>
            <Tbody>
              {data.data.map((row) => (
                <ConnectionTableRow
                  key={row.id}
                  row={row}
                  onDisconnect={canDisconnect ? () => setSelected(row) : undefined}
                />
              ))}
            </Tbody>
          </Table>
        )}
      {data !== undefined && (
        <Pagination.Root
          pageCount={data.meta.pagination.pageCount}
          total={data.meta.pagination.total}
          defaultPageSize={DEFAULT_PAGE_SIZE}
        >
          <Pagination.PageSize options={["10", "20", "50", "100"]} />
          <Pagination.Links />
        </Pagination.Root>
      )}
      <DisconnectDialog
        connection={selected}
        onClose={() => setSelected(null)}
        onDone={() => {
          setSelected(null);
          refresh();
        }}
      />
    </Flex>
  );
}

interface ConnectionTableRowProps {
  row: ConnectionRow;
  /** Absent when the admin may not disconnect: no button at all. */
  onDisconnect: (() => void) | undefined;
}

function ConnectionTableRow({ row, onDisconnect }: ConnectionTableRowProps) {
  const rooms = row.rooms.join(", ") +
    (row.roomCount > row.rooms.length ? ` and ${row.roomCount - row.rooms.length} more` : "");
  return (
    <Tr data-testid="io-connection-row" data-connection-id={row.id}>
      <Td>
        <Typography fontWeight="bold">{describeWho(row)}</Typography>
        <Typography variant="pi" textColor="neutral600" tag="p">{row.id}</Typography>
      </Td>
      <Td>
        <Typography>{describeAccess(row)}</Typography>
      </Td>
      <Td>
        <Typography>{row.transport}</Typography>
      </Td>
      <Td>
        <Typography title={row.connectedAt}>{formatSince(row.connectedAt)}</Typography>
      </Td>
      <Td>
        <Typography ellipsis title={rooms}>{row.roomCount === 0 ? "—" : rooms}</Typography>
      </Td>
      <Td>
        <Typography textColor="neutral600">
          {row.node}
          {row.namespace === "/" ? "" : ` ${row.namespace}`}
        </Typography>
      </Td>
      {onDisconnect && (
        <Td>
          <Button variant="danger-light" size="S" onClick={onDisconnect}>Disconnect</Button>
        </Td>
      )}
    </Tr>
  );
}

/** A page number from the URL, or `fallback` when it is not a positive integer. */
function positiveInteger(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return Number.isInteger(number) && number >= 1 ? number : fallback;
}

/** The user, the API token, or "Anonymous" for the public role. */
function describeWho(row: ConnectionRow): string {
  if (row.user !== null) return row.user.username ?? row.user.email ?? `User ${row.user.id}`;
  if (row.audience === "token") return row.token ?? "API token";
  return "Anonymous";
}

/** What decides what it receives: the user's role, the token's type, or the public role. */
function describeAccess(row: ConnectionRow): string {
  if (row.audience === "public") return "Public";
  return row.role ?? (row.audience === "token" ? "API token" : "—");
}
