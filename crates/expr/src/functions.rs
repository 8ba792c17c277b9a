//! The built-in function catalogue: the lower-snake-case names mstrio-py's `Function` enum knows
//! (11.6.10.101), written in text as CamelCase (`apply_simple` is `ApplySimple`).

/// Every function name, lower snake case, as the `tree` form spells it.
pub const FUNCTIONS: &[&str] = &[
    "third_party",
    "custom",
    "plus",
    "minus",
    "times",
    "divide",
    "unary_minus",
    "equals",
    "not_equal",
    "greater",
    "less",
    "greater_equal",
    "less_equal",
    "sum",
    "count",
    "avg",
    "min",
    "max",
    "between",
    "like",
    "and",
    "or",
    "not",
    "in",
    "rank",
    "abs",
    "running_sum",
    "running_avg",
    "moving_sum",
    "moving_avg",
    "product",
    "median",
    "mode",
    "stdev",
    "var",
    "geomean",
    "equal_enhanced",
    "not_equal_enhanced",
    "greater_equal_enhanced",
    "less_equal_enhanced",
    "between_enhanced",
    "banding",
    "banding_c",
    "banding_p",
    "not_like",
    "not_between",
    "intersect",
    "intersect_in",
    "null_to_zero",
    "zero_to_null",
    "apply_simple",
    "apply_aggregation",
    "apply_logic",
    "apply_comparison",
    "apply_relative",
    "is_null",
    "is_not_null",
    "ucase",
    "not_in",
    "n_tile",
    "percentile",
    "moving_max",
    "moving_min",
    "moving_difference",
    "moving_stdev",
    "exp_wgh_moving_avg",
    "moving_count",
    "running_max",
    "running_min",
    "running_stdev",
    "running_count",
    "exp_wgh_running_avg",
    "not_between_enhanced",
    "concat",
    "first_in_range",
    "last_in_range",
    "value_segment",
    "contains",
    "begins_with",
    "ends_with",
    "not_contains",
    "not_begins_with",
    "not_ends_with",
    "case",
    "case_v",
    "stdev_p",
    "running_stdev_p",
    "moving_stdev_p",
    "n_tile_s",
    "n_tile_vs",
    "var_p",
    "current_date",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "week",
    "month",
    "quarter",
    "year",
    "current_date_time",
    "current_time",
    "hour",
    "minute",
    "second",
    "milli_second",
    "concat_no_blank",
    "length",
    "lower",
    "l_trim",
    "position",
    "r_trim",
    "sub_str",
    "init_cap",
    "trim",
    "right_str",
    "left_str",
    "greatest",
    "least",
    "first",
    "last",
    "date",
    "days_between",
    "months_between",
    "add_days",
    "add_months",
    "month_start_date",
    "month_end_date",
    "year_start_date",
    "year_end_date",
    "if",
    "apply_optional",
    "apply_cs_security_filter",
    "union",
    "except",
    "coalesce",
    "add",
    "average",
    "multiply",
    "banding_m",
    "olap_sum",
    "olap_avg",
    "olap_count",
    "olap_max",
    "olap_min",
    "lag",
    "lead",
    "olap_rank",
    "repeat",
    "bit_and",
    "bit_or",
    "bit_xor",
    "bit_not",
    "bit_left_shift",
    "bit_right_shift",
    "ampersand",
    "ordinal_rank",
    "histogram_median",
    "band_names",
    "percent_rank_relative",
    "search",
    "if_by_dimty",
    "get_extra_output",
    "to_date_time",
    "quarter_start_date",
    "week_start_date",
    "to_string",
    "to_number",
    "percent_rank",
    "str_replace",
    "str_match",
    "str_split",
    "str_char",
    "str_repeat",
    "date_diff",
    "str_begins_with",
    "str_ends_with",
    "weight_std_p",
    "weight_mean_ave",
    "concat_agg",
    "weight_cov",
    "weight_corr",
    "str_last_position",
    "str_title_cap",
    "fiscal_week",
    "fiscal_month",
    "fiscal_quarter",
    "fiscal_year",
    "null_to_empty",
    "descendants",
    "ancestors",
    "parents",
    "children",
    "tuple",
];

/// The snake-case name of a function written as `text` in an expression, matched without regard
/// to case or underscores (`ApplySimple`, `applysimple`, `Apply_Simple`).
pub fn lookup(text: &str) -> Option<&'static str> {
    let key: String = text
        .chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    FUNCTIONS
        .iter()
        .copied()
        .find(|f| f.len() - f.matches('_').count() == key.len() && f.replace('_', "") == key)
}

/// The canonical text spelling of a function: CamelCase of its snake-case name.
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// Whether `name` is a known function (snake case).
pub fn is_known(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// Functions whose first argument is a template string with `#0`, `#1`, … placeholders.
pub fn takes_template(name: &str) -> bool {
    matches!(
        name,
        "apply_simple"
            | "apply_aggregation"
            | "apply_logic"
            | "apply_comparison"
            | "apply_relative"
            | "apply_optional"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_without_underscores_and_round_trip_through_camel_case() {
        for f in FUNCTIONS {
            assert_eq!(lookup(&camel(f)), Some(*f), "{f}");
        }
        assert_eq!(lookup("applysimple"), Some("apply_simple"));
        assert_eq!(lookup("Nope"), None);
    }
}
