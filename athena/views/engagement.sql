-- engagement: one row per open and click event (event_id), judged a person's or a machine's.
-- Reads ses_events_unique. Key: event_id. The rules, and their sources, are in docs/views.md
-- ("People and machines"); their constants are the `rules` CTE below, nowhere else.
-- engagement: human, image_proxy (a person's, fetched through a mail provider's image proxy
-- when they view the message), apple_privacy_proxy (Apple Mail Privacy Protection prefetch:
-- opens only), scanner (security gateways: their user agents, or clicks too fast or too many
-- at once for a person), bot (crawlers, headless browsers, HTTP libraries). is_human: human or
-- image_proxy. engagement_reason says which rule decided.
create or replace view engagement as

with rules as (

    select
        -- Apple's proxy fetches every message's images with exactly this user agent.
        'Mozilla/5.0' as apple_proxy_user_agent,
        -- Proxies that fetch when the person views the message.
        '(?i)(googleimageproxy|ggpht\.com|yahoomailproxy)' as image_proxy_pattern,
        -- Security gateways that open and click everything on arrival.
        '(?i)(mimecast|proofpoint|barracuda|safelinks|ironport|messagelabs|trendmicro|forcepoint|zscaler|fortiguard|sophos|symantec)' as scanner_pattern,
        -- Crawlers, headless browsers and HTTP libraries.
        '(?i)(bot\b|bot/|crawler|spider|headless|phantomjs|python-requests|python-urllib|aiohttp|curl/|wget/|go-http-client|java/|okhttp|apache-httpclient|libwww|node-fetch|axios/)' as bot_pattern,
        -- A click this soon after its recipient's delivery is a scanner's.
        10 as scanner_seconds_after_delivery,
        -- Two different links of a message clicked within this many seconds: a scanner's.
        5 as burst_seconds

),

events as (

    select * from ses_events_unique

),

engaged as (

    select
        event_id,
        message_id,
        recipient,
        event_type,
        event_at,
        link,
        user_agent,
        ip_address,
        dt
    from events
    where event_type in ('open', 'click')

),

deliveries as (

    select message_id, recipient, min(event_at) as delivered_at
    from events
    where event_type = 'delivery'
    group by message_id, recipient

),

-- Clicks on another link of the same message by the same recipient within burst_seconds.
bursts as (

    select distinct clicks.event_id
    from engaged as clicks
    cross join rules
    inner join engaged as others
        on clicks.message_id = others.message_id
        and clicks.recipient = others.recipient
        and others.event_type = 'click'
        and others.link <> clicks.link
        and abs(date_diff('millisecond', clicks.event_at, others.event_at))
            <= rules.burst_seconds * 1000
    where clicks.event_type = 'click'

),

-- Which rule decides each click, written once; its label and reason follow from it below.
click_rules as (

    select
        engaged.event_id,
        case
            when regexp_like(coalesce(engaged.user_agent, ''), rules.scanner_pattern)
                then 'scanner_agent'
            when regexp_like(coalesce(engaged.user_agent, ''), rules.bot_pattern) then 'bot_agent'
            when date_diff('millisecond', deliveries.delivered_at, engaged.event_at)
                < rules.scanner_seconds_after_delivery * 1000 then 'soon_after_delivery'
            when bursts.event_id is not null then 'link_burst'
            else 'none'
        end as rule,
        date_diff('second', deliveries.delivered_at, engaged.event_at) as seconds_after_delivery
    from engaged
    cross join rules
    left join deliveries
        on engaged.message_id = deliveries.message_id
        and engaged.recipient = deliveries.recipient
    left join bursts
        on engaged.event_id = bursts.event_id
    where engaged.event_type = 'click'

),

-- Opens that came with a scanner's clicks (within burst_seconds of one): the scanner's too.
scanned_opens as (

    select distinct opens.event_id
    from engaged as opens
    cross join rules
    inner join engaged as clicks
        on opens.message_id = clicks.message_id
        and opens.recipient = clicks.recipient
        and clicks.event_type = 'click'
        and abs(date_diff('millisecond', opens.event_at, clicks.event_at))
            <= rules.burst_seconds * 1000
    inner join click_rules
        on clicks.event_id = click_rules.event_id
        and click_rules.rule in ('scanner_agent', 'soon_after_delivery', 'link_burst')
    where opens.event_type = 'open'

),

-- Which rule decides each open, written once (Apple's rule is for opens only).
open_rules as (

    select
        engaged.event_id,
        case
            when engaged.user_agent = rules.apple_proxy_user_agent then 'apple_proxy'
            when regexp_like(coalesce(engaged.user_agent, ''), rules.scanner_pattern)
                then 'scanner_agent'
            when regexp_like(coalesce(engaged.user_agent, ''), rules.bot_pattern) then 'bot_agent'
            when scanned_opens.event_id is not null then 'with_scanner_clicks'
            when regexp_like(coalesce(engaged.user_agent, ''), rules.image_proxy_pattern)
                then 'image_proxy'
            else 'none'
        end as rule,
        cast(null as bigint) as seconds_after_delivery
    from engaged
    cross join rules
    left join scanned_opens
        on engaged.event_id = scanned_opens.event_id
    where engaged.event_type = 'open'

),

decided as (

    select * from click_rules
    union all
    select * from open_rules

),

judged as (

    select
        decided.event_id,
        case decided.rule
            when 'apple_proxy' then 'apple_privacy_proxy'
            when 'image_proxy' then 'image_proxy'
            when 'bot_agent' then 'bot'
            when 'none' then 'human'
            else 'scanner'
        end as engagement,
        case decided.rule
            when 'apple_proxy'
                then 'Apple Mail Privacy Protection prefetch (user agent Mozilla/5.0)'
            when 'scanner_agent' then 'user agent of a security scanner'
            when 'bot_agent' then 'user agent of a bot or HTTP library'
            when 'soon_after_delivery'
                then 'clicked ' || cast(decided.seconds_after_delivery as varchar)
                    || ' s after delivery'
            when 'link_burst'
                then 'one of several links clicked within '
                    || cast(rules.burst_seconds as varchar) || ' s'
            when 'with_scanner_clicks' then 'came with a scanner''s clicks'
            when 'image_proxy'
                then 'fetched through the mail provider''s image proxy as the person viewed it'
            else 'no machine sign'
        end as engagement_reason
    from decided
    cross join rules

),

final as (

    select
        engaged.event_id,
        engaged.message_id,
        engaged.recipient,
        engaged.event_type,
        engaged.event_at,
        engaged.link,
        engaged.user_agent,
        engaged.ip_address,
        judged.engagement,
        judged.engagement_reason,
        judged.engagement in ('human', 'image_proxy') as is_human,
        engaged.dt
    from engaged
    inner join judged
        on engaged.event_id = judged.event_id

)

select * from final
