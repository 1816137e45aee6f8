import * as React from "react";
import { Button, Dialog, Field, Textarea, Typography } from "@strapi/design-system";
import { isFetchError, useFetchClient, useNotification } from "@strapi/strapi/admin";
import { type ConnectionRow, REASON_MAX_LENGTH } from "../contract.ts";

interface DisconnectDialogProps {
  /** The connection to disconnect; the dialog is open while this is set. */
  connection: ConnectionRow | null;
  onClose(): void;
  /** Called once the server answered (the connection may already have gone by itself). */
  onDone(): void;
}

/**
 * Asks for a reason, then `POST /io/connections/:id/disconnect`. The client receives
 * `strapi-io:disconnect` with the reason before the server closes it.
 */
export function DisconnectDialog({ connection, onClose, onDone }: DisconnectDialogProps) {
  const { post } = useFetchClient();
  const { toggleNotification } = useNotification();
  const [reason, setReason] = React.useState("");
  const [sending, setSending] = React.useState(false);
  const trimmed = reason.trim();
  const error = trimmed.length > REASON_MAX_LENGTH
    ? `At most ${REASON_MAX_LENGTH} characters`
    : undefined;

  React.useEffect(() => setReason(""), [connection?.id]);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (connection === null || trimmed.length === 0 || error !== undefined) return;
    setSending(true);
    try {
      const { data } = await post<{ data: { disconnected: boolean } }>(
        `/io/connections/${encodeURIComponent(connection.id)}/disconnect`,
        { reason: trimmed },
      );
      toggleNotification({
        type: data.data.disconnected ? "success" : "info",
        message: data.data.disconnected
          ? "Connection disconnected"
          : "That connection had already gone",
      });
      onDone();
    } catch (caught) {
      const message = isFetchError(caught) && caught.status === 403
        ? "You may not disconnect connections (plugin::io.disconnect)"
        : `Could not disconnect: ${caught instanceof Error ? caught.message : String(caught)}`;
      toggleNotification({ type: "danger", message });
    } finally {
      setSending(false);
    }
  };

  return (
    <Dialog.Root open={connection !== null} onOpenChange={(open) => open || onClose()}>
      <Dialog.Content>
        <form onSubmit={submit}>
          <Dialog.Header>Disconnect a connection</Dialog.Header>
          <Dialog.Body direction="column" alignItems="stretch" gap={4}>
            <Typography>
              Connection <Typography fontWeight="bold">{connection?.id}</Typography>{" "}
              receives the reason, then is disconnected. It may reconnect.
            </Typography>
            <Field.Root name="reason" error={error} required>
              <Field.Label>Reason</Field.Label>
              <Textarea
                name="reason"
                value={reason}
                onChange={(event: React.ChangeEvent<HTMLTextAreaElement>) =>
                  setReason(event.target.value)}
              />
              <Field.Error />
            </Field.Root>
          </Dialog.Body>
          <Dialog.Footer>
            <Dialog.Cancel>
              <Button variant="tertiary" fullWidth>Cancel</Button>
            </Dialog.Cancel>
            <Button
              type="submit"
              variant="danger-light"
              fullWidth
              loading={sending}
              disabled={trimmed.length === 0 || error !== undefined}
            >
              Disconnect
            </Button>
          </Dialog.Footer>
        </form>
      </Dialog.Content>
    </Dialog.Root>
  );
}
