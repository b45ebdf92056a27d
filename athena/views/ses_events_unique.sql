-- ses_events_unique: one row per event_id. Key: event_id.
-- SNS, SQS and Firehose deliver at least once, so the same SES event can land more than once
-- (and a retried ingest rewrites its file under the same name). Every other view reads this one.
-- Columns: every column of ses_events; the copy kept is the first ingested. Filters on dt and
-- event_type are pushed through the window to the scan (they are its partition keys): on
-- Athena they prune partitions by projection, locally Hive folders.
create or replace view ses_events_unique as

with events as (

    select * from ses_events

),

ranked as (

    select
        events.*,
        -- Copies of one SES event share its event_type and day (both derive from the event),
        -- so copies are numbered within (dt, event_type): a filter on dt or event_type then
        -- reaches the table scan, and a question about a week reads a week.
        row_number() over (
            partition by dt, event_type, event_id
            order by ingested_at, ingest_source
        ) as copy_number
    from events

),

final as (

    select
        event_id,
        message_id,
        recipient,
        event_at,
        sent_at,
        source_format,
        source,
        from_address,
        subject,
        destination,
        sending_account_id,
        source_arn,
        source_ip,
        caller_identity,
        configuration_set,
        tags,
        bounce_type,
        bounce_subtype,
        bounce_action,
        bounce_status,
        diagnostic_code,
        feedback_id,
        reporting_mta,
        remote_mta_ip,
        complaint_feedback_type,
        complaint_subtype,
        complaint_arrival_at,
        smtp_response,
        processing_time_ms,
        delay_type,
        delay_status,
        delay_expires_at,
        link,
        link_tags,
        ip_address,
        user_agent,
        reject_reason,
        error_message,
        template_name,
        contact_list,
        subscription_source,
        unsubscribe_all,
        topic_preferences,
        is_opt_out,
        raw,
        ingest_source,
        ingested_at,
        event_type,
        dt
    from ranked
    where copy_number = 1

)

select * from final
