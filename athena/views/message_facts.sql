-- message_facts: one row per (message_id, recipient), message_status joined to the company's
-- data. Key: message_id, recipient. Reads message_status and ses_requests_current (each request
-- as its latest load gave it).
-- An internal row with a recipient joins that pair; one without (message-level) joins every
-- recipient of its message that has no row of its own: a recipient's own row wins. Requested
-- messages with no event yet are kept (recipient from the internal row, NULL status columns),
-- and so are pairs with no internal row (is_requested false, NULL internal columns). Columns:
-- every message_status column, is_requested, request_time, region, then every other column of
-- ses_requests (listed when the view is created: see docs/views.md).
create or replace view message_facts as

with statuses as (

    select * from message_status

),

requests as (

    select * from ses_requests_current

),

recipient_rows as (

    select distinct message_id, recipient from requests where recipient is not null

),

requested_pairs as (

    select
        requests.message_id,
        coalesce(requests.recipient, statuses.recipient) as recipient
    from requests
    left join statuses
        on requests.message_id = statuses.message_id
        and (requests.recipient is null or requests.recipient = statuses.recipient)

),

pairs as (

    select message_id, recipient from statuses
    union
    select message_id, recipient from requested_pairs

),

final as (

    select
        pairs.message_id,
        pairs.recipient,
        statuses.sent_at,
        statuses.delivered_at,
        statuses.first_delayed_at,
        statuses.delay_count,
        statuses.bounced_at,
        statuses.bounce_type,
        statuses.bounce_subtype,
        statuses.complained_at,
        statuses.complaint_feedback_type,
        statuses.rejected_at,
        statuses.rendering_failed_at,
        statuses.first_opened_at,
        statuses.open_count,
        statuses.first_clicked_at,
        statuses.click_count,
        statuses.unsubscribed_at,
        statuses.seconds_to_deliver,
        statuses.seconds_to_open,
        statuses.seconds_to_click,
        statuses.outcome,
        statuses.is_sent,
        statuses.is_delivered,
        statuses.is_bounced,
        statuses.is_hard_bounced,
        statuses.is_soft_bounced,
        statuses.is_complained,
        statuses.is_rejected,
        statuses.is_rendering_failed,
        statuses.is_delayed,
        statuses.is_opened,
        statuses.is_clicked,
        statuses.is_unsubscribed,
        statuses.is_human_opened,
        statuses.is_human_clicked,
        statuses.is_machine_opened,
        statuses.is_bot_clicked,
        statuses.first_human_opened_at,
        statuses.first_human_clicked_at,
        statuses.is_suppressed,
        statuses.is_reputation_bounce,
        statuses.recipient_domain,
        statuses.mailbox_provider,
        statuses.tenant,
        statuses.subject,
        statuses.from_address,
        statuses.configuration_set,
        statuses.tags,
        requests.message_id is not null as is_requested,
        requests.request_time,
        requests.region /* seslake:internal-columns requests */
    from pairs
    left join statuses
        on pairs.message_id = statuses.message_id
        and pairs.recipient = statuses.recipient
    left join recipient_rows
        on pairs.message_id = recipient_rows.message_id
        and pairs.recipient = recipient_rows.recipient
    left join requests
        on pairs.message_id = requests.message_id
        and (
            requests.recipient = pairs.recipient
            or (requests.recipient is null and recipient_rows.message_id is null)
        )

)

select * from final
