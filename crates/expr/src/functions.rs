//! The function catalogue of MicroStrategy's expressions, as data: each function's name in trees
//! (mstrio-py's `Function` enum value, 11.6.10.101), its name in text, MicroStrategy's function
//! number and function object id where known, how many arguments it takes and what type it
//! yields. The parser and the tree reader both check calls against it ([`check_call`]).
//!
//! Sources (docs/compatibility.md, "Expressions"): the enum's order is MicroStrategy's function
//! numbering (`third_party` = -1, `custom` = 0, `plus` = 1, …); the object ids of the first 57
//! functions follow MicroStrategy's `8107C3xxDD9911D3B98100C04F2233EA` scheme (xx = number +
//! 0x0F), checked against the ids MicroStrategy's own responses show for `-`, `>`, `Sum`,
//! `Not In`. Functions MicroStrategy has outside the enum (`Round`, `Power`, …) are `custom`
//! nodes in trees, named by `customFunction`.

/// What a function yields, for inferring a form's data type from its expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yields {
    /// The widest numeric type of the arguments (integer unless one is not).
    Numeric,
    Double,
    Integer,
    Boolean,
    /// A string as long as the first argument.
    Arg0String,
    /// A string as long as all arguments together.
    Concat,
    /// A string of unknown length.
    String,
    Date,
    DateTime,
    Time,
    /// The type of argument 0, 1 or 2 (`NullToZero(x)`, `If(c, x, y)`, `CaseV(v, m, x, …)`).
    Arg0,
    Arg1,
    Arg2,
    Unknown,
}

/// One function of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    /// Lower snake case; the tree's `function` when [`Function::in_enum`], else only a key.
    pub name: &'static str,
    /// How text writes it (`Concat`, `Upper`).
    pub text: &'static str,
    /// Other spellings text may use (`UCase` for `Upper`).
    pub aliases: &'static [&'static str],
    /// MicroStrategy's function number; `None` for functions outside mstrio's enum.
    pub number: Option<i32>,
    /// MicroStrategy's function object id, where known.
    pub object_id: Option<&'static str>,
    pub min_args: usize,
    /// `None`: any number from `min_args` up.
    pub max_args: Option<usize>,
    pub yields: Yields,
}

impl Function {
    /// Whether mstrio's `Function` enum has it, so a tree names it in `function`; the others are
    /// `custom` nodes with a `customFunction` reference.
    pub fn in_enum(&self) -> bool {
        self.number.is_some()
    }

    /// How many arguments it takes, in words: `2 arguments`, `at least 2 arguments`, `1 to 3 arguments`.
    pub fn arguments_wanted(&self) -> String {
        let count = match self.max_args {
            Some(max) if max == self.min_args => format!("{max}"),
            Some(max) => format!("{} to {max}", self.min_args),
            None => format!("at least {}", self.min_args),
        };
        let noun = if count == "1" { "argument" } else { "arguments" };
        format!("{count} {noun}")
    }

    /// Whether `n` arguments are right; `Err` says what is, naming the function.
    pub fn check_arity(&self, n: usize) -> Result<(), String> {
        if n >= self.min_args && self.max_args.is_none_or(|max| n <= max) {
            return Ok(());
        }
        Err(format!(
            "{} takes {}, not {n}",
            self.text,
            self.arguments_wanted()
        ))
    }
}

#[allow(clippy::too_many_arguments)]
const fn f(
    name: &'static str,
    text: &'static str,
    aliases: &'static [&'static str],
    number: Option<i32>,
    object_id: Option<&'static str>,
    min_args: usize,
    max_args: Option<usize>,
    yields: Yields,
) -> Function {
    Function {
        name,
        text,
        aliases,
        number,
        object_id,
        min_args,
        max_args,
        yields,
    }
}

/// The catalogue: mstrio's enum in its order (so `number` is the position less one), then the
/// functions outside it. "unchecked" marks functions whose arity is not known here: any number
/// of arguments is taken.
#[rustfmt::skip]
pub const CATALOGUE: &[Function] = &[
    f("third_party", "ThirdParty", &[], Some(-1), None, 0, None, Yields::Unknown),
    f("custom", "Custom", &[], Some(0), None, 0, None, Yields::Unknown),
    f("plus", "Plus", &[], Some(1), Some("8107C310DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Numeric),
    f("minus", "Minus", &[], Some(2), Some("8107C311DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Numeric),
    f("times", "Times", &[], Some(3), Some("8107C312DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Numeric),
    f("divide", "Divide", &[], Some(4), Some("8107C313DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Double),
    f("unary_minus", "UnaryMinus", &[], Some(5), Some("8107C314DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("equals", "Equals", &[], Some(6), Some("8107C315DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("not_equal", "NotEqual", &[], Some(7), Some("8107C316DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("greater", "Greater", &[], Some(8), Some("8107C317DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("less", "Less", &[], Some(9), Some("8107C318DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("greater_equal", "GreaterEqual", &[], Some(10), Some("8107C319DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("less_equal", "LessEqual", &[], Some(11), Some("8107C31ADD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("sum", "Sum", &[], Some(12), Some("8107C31BDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("count", "Count", &[], Some(13), Some("8107C31CDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Integer),
    f("avg", "Avg", &[], Some(14), Some("8107C31DDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("min", "Min", &[], Some(15), Some("8107C31EDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("max", "Max", &[], Some(16), Some("8107C31FDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("between", "Between", &[], Some(17), Some("8107C320DD9911D3B98100C04F2233EA"), 3, Some(3), Yields::Boolean),
    f("like", "Like", &[], Some(18), Some("8107C321DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("and", "And", &[], Some(19), Some("8107C322DD9911D3B98100C04F2233EA"), 2, None, Yields::Boolean),
    f("or", "Or", &[], Some(20), Some("8107C323DD9911D3B98100C04F2233EA"), 2, None, Yields::Boolean),
    f("not", "Not", &[], Some(21), Some("8107C324DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Boolean),
    f("in", "In", &[], Some(22), Some("8107C325DD9911D3B98100C04F2233EA"), 2, None, Yields::Boolean),
    f("rank", "Rank", &[], Some(23), Some("8107C326DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Integer),
    f("abs", "Abs", &[], Some(24), Some("8107C327DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("running_sum", "RunningSum", &[], Some(25), Some("8107C328DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("running_avg", "RunningAvg", &[], Some(26), Some("8107C329DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("moving_sum", "MovingSum", &[], Some(27), Some("8107C32ADD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Numeric),
    f("moving_avg", "MovingAvg", &[], Some(28), Some("8107C32BDD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Double),
    f("product", "Product", &[], Some(29), Some("8107C32CDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("median", "Median", &[], Some(30), Some("8107C32DDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("mode", "Mode", &[], Some(31), Some("8107C32EDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Numeric),
    f("stdev", "Stdev", &[], Some(32), Some("8107C32FDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("var", "Var", &[], Some(33), Some("8107C330DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("geomean", "Geomean", &[], Some(34), Some("8107C331DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Double),
    f("equal_enhanced", "EqualEnhanced", &[], Some(35), Some("8107C332DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("not_equal_enhanced", "NotEqualEnhanced", &[], Some(36), Some("8107C333DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("greater_equal_enhanced", "GreaterEqualEnhanced", &[], Some(37), Some("8107C334DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("less_equal_enhanced", "LessEqualEnhanced", &[], Some(38), Some("8107C335DD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("between_enhanced", "BetweenEnhanced", &[], Some(39), Some("8107C336DD9911D3B98100C04F2233EA"), 3, Some(3), Yields::Boolean),
    f("banding", "Banding", &[], Some(40), Some("8107C337DD9911D3B98100C04F2233EA"), 4, Some(4), Yields::Integer),
    f("banding_c", "BandingC", &[], Some(41), Some("8107C338DD9911D3B98100C04F2233EA"), 2, None, Yields::Integer),
    f("banding_p", "BandingP", &[], Some(42), Some("8107C339DD9911D3B98100C04F2233EA"), 2, None, Yields::Integer),
    f("not_like", "NotLike", &[], Some(43), Some("8107C33ADD9911D3B98100C04F2233EA"), 2, Some(2), Yields::Boolean),
    f("not_between", "NotBetween", &[], Some(44), Some("8107C33BDD9911D3B98100C04F2233EA"), 3, Some(3), Yields::Boolean),
    f("intersect", "Intersect", &[], Some(45), Some("8107C33CDD9911D3B98100C04F2233EA"), 2, None, Yields::Unknown),
    f("intersect_in", "IntersectIn", &[], Some(46), Some("8107C33DDD9911D3B98100C04F2233EA"), 2, None, Yields::Unknown),
    f("null_to_zero", "NullToZero", &[], Some(47), Some("8107C33EDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Arg0),
    f("zero_to_null", "ZeroToNull", &[], Some(48), Some("8107C33FDD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Arg0),
    f("apply_simple", "ApplySimple", &[], Some(49), Some("8107C340DD9911D3B98100C04F2233EA"), 1, None, Yields::Unknown),
    f("apply_aggregation", "ApplyAggregation", &[], Some(50), Some("8107C341DD9911D3B98100C04F2233EA"), 1, None, Yields::Unknown),
    f("apply_logic", "ApplyLogic", &[], Some(51), Some("8107C342DD9911D3B98100C04F2233EA"), 1, None, Yields::Unknown),
    f("apply_comparison", "ApplyComparison", &[], Some(52), Some("8107C343DD9911D3B98100C04F2233EA"), 1, None, Yields::Unknown),
    f("apply_relative", "ApplyRelative", &[], Some(53), Some("8107C344DD9911D3B98100C04F2233EA"), 1, None, Yields::Unknown),
    f("is_null", "IsNull", &[], Some(54), Some("8107C345DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Boolean),
    f("is_not_null", "IsNotNull", &[], Some(55), Some("8107C346DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Boolean),
    f("ucase", "Upper", &["UCase"], Some(56), Some("8107C347DD9911D3B98100C04F2233EA"), 1, Some(1), Yields::Arg0String),
    f("not_in", "NotIn", &[], Some(57), Some("8107C348DD9911D3B98100C04F2233EA"), 2, None, Yields::Boolean),
    f("n_tile", "NTile", &[], Some(58), None, 2, Some(2), Yields::Integer),
    f("percentile", "Percentile", &[], Some(59), None, 2, Some(2), Yields::Double),
    f("moving_max", "MovingMax", &[], Some(60), None, 2, Some(2), Yields::Numeric),
    f("moving_min", "MovingMin", &[], Some(61), None, 2, Some(2), Yields::Numeric),
    f("moving_difference", "MovingDifference", &[], Some(62), None, 2, Some(2), Yields::Numeric),
    f("moving_stdev", "MovingStdev", &[], Some(63), None, 2, Some(2), Yields::Double),
    f("exp_wgh_moving_avg", "ExpWghMovingAvg", &[], Some(64), None, 2, Some(2), Yields::Double),
    f("moving_count", "MovingCount", &[], Some(65), None, 2, Some(2), Yields::Integer),
    f("running_max", "RunningMax", &[], Some(66), None, 1, Some(1), Yields::Numeric),
    f("running_min", "RunningMin", &[], Some(67), None, 1, Some(1), Yields::Numeric),
    f("running_stdev", "RunningStdev", &[], Some(68), None, 1, Some(1), Yields::Double),
    f("running_count", "RunningCount", &[], Some(69), None, 1, Some(1), Yields::Integer),
    f("exp_wgh_running_avg", "ExpWghRunningAvg", &[], Some(70), None, 2, Some(2), Yields::Double),
    f("not_between_enhanced", "NotBetweenEnhanced", &[], Some(71), None, 3, Some(3), Yields::Boolean),
    f("concat", "Concat", &[], Some(72), None, 2, None, Yields::Concat),
    f("first_in_range", "FirstInRange", &[], Some(73), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("last_in_range", "LastInRange", &[], Some(74), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("value_segment", "ValueSegment", &[], Some(75), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("contains", "Contains", &[], Some(76), None, 2, Some(2), Yields::Boolean),
    f("begins_with", "BeginsWith", &[], Some(77), None, 2, Some(2), Yields::Boolean),
    f("ends_with", "EndsWith", &[], Some(78), None, 2, Some(2), Yields::Boolean),
    f("not_contains", "NotContains", &[], Some(79), None, 2, Some(2), Yields::Boolean),
    f("not_begins_with", "NotBeginsWith", &[], Some(80), None, 2, Some(2), Yields::Boolean),
    f("not_ends_with", "NotEndsWith", &[], Some(81), None, 2, Some(2), Yields::Boolean),
    f("case", "Case", &[], Some(82), None, 3, None, Yields::Arg1),
    f("case_v", "CaseV", &[], Some(83), None, 4, None, Yields::Arg2),
    f("stdev_p", "StdevP", &[], Some(84), None, 1, Some(1), Yields::Double),
    f("running_stdev_p", "RunningStdevP", &[], Some(85), None, 1, Some(1), Yields::Double),
    f("moving_stdev_p", "MovingStdevP", &[], Some(86), None, 2, Some(2), Yields::Double),
    f("n_tile_s", "NTileS", &[], Some(87), None, 2, Some(2), Yields::Integer),
    f("n_tile_vs", "NTileVs", &[], Some(88), None, 2, Some(2), Yields::Integer),
    f("var_p", "VarP", &[], Some(89), None, 1, Some(1), Yields::Double),
    f("current_date", "CurrentDate", &[], Some(90), None, 0, Some(0), Yields::Date),
    f("day_of_month", "DayOfMonth", &[], Some(91), None, 1, Some(1), Yields::Integer),
    f("day_of_week", "DayOfWeek", &[], Some(92), None, 1, Some(1), Yields::Integer),
    f("day_of_year", "DayOfYear", &[], Some(93), None, 1, Some(1), Yields::Integer),
    f("week", "Week", &[], Some(94), None, 1, Some(1), Yields::Integer),
    f("month", "Month", &[], Some(95), None, 1, Some(1), Yields::Integer),
    f("quarter", "Quarter", &[], Some(96), None, 1, Some(1), Yields::Integer),
    f("year", "Year", &[], Some(97), None, 1, Some(1), Yields::Integer),
    f("current_date_time", "CurrentDateTime", &[], Some(98), None, 0, Some(0), Yields::DateTime),
    f("current_time", "CurrentTime", &[], Some(99), None, 0, Some(0), Yields::Time),
    f("hour", "Hour", &[], Some(100), None, 1, Some(1), Yields::Integer),
    f("minute", "Minute", &[], Some(101), None, 1, Some(1), Yields::Integer),
    f("second", "Second", &[], Some(102), None, 1, Some(1), Yields::Integer),
    f("milli_second", "MilliSecond", &[], Some(103), None, 1, Some(1), Yields::Integer),
    f("concat_no_blank", "ConcatNoBlank", &[], Some(104), None, 2, None, Yields::Concat),
    f("length", "Length", &[], Some(105), None, 1, Some(1), Yields::Integer),
    f("lower", "Lower", &[], Some(106), None, 1, Some(1), Yields::Arg0String),
    f("l_trim", "LTrim", &[], Some(107), None, 1, Some(1), Yields::Arg0String),
    f("position", "Position", &[], Some(108), None, 2, Some(2), Yields::Integer),
    f("r_trim", "RTrim", &[], Some(109), None, 1, Some(1), Yields::Arg0String),
    f("sub_str", "SubStr", &[], Some(110), None, 3, Some(3), Yields::Arg0String),
    f("init_cap", "InitCap", &[], Some(111), None, 1, Some(1), Yields::Arg0String),
    f("trim", "Trim", &[], Some(112), None, 1, Some(1), Yields::Arg0String),
    f("right_str", "RightStr", &[], Some(113), None, 2, Some(2), Yields::Arg0String),
    f("left_str", "LeftStr", &[], Some(114), None, 2, Some(2), Yields::Arg0String),
    f("greatest", "Greatest", &[], Some(115), None, 2, None, Yields::Arg0),
    f("least", "Least", &[], Some(116), None, 2, None, Yields::Arg0),
    f("first", "First", &[], Some(117), None, 1, Some(1), Yields::Numeric),
    f("last", "Last", &[], Some(118), None, 1, Some(1), Yields::Numeric),
    f("date", "Date", &[], Some(119), None, 1, Some(1), Yields::Date),
    f("days_between", "DaysBetween", &[], Some(120), None, 2, Some(2), Yields::Integer),
    f("months_between", "MonthsBetween", &[], Some(121), None, 2, Some(2), Yields::Integer),
    f("add_days", "AddDays", &[], Some(122), None, 2, Some(2), Yields::Date),
    f("add_months", "AddMonths", &[], Some(123), None, 2, Some(2), Yields::Date),
    f("month_start_date", "MonthStartDate", &[], Some(124), None, 1, Some(1), Yields::Date),
    f("month_end_date", "MonthEndDate", &[], Some(125), None, 1, Some(1), Yields::Date),
    f("year_start_date", "YearStartDate", &[], Some(126), None, 1, Some(1), Yields::Date),
    f("year_end_date", "YearEndDate", &[], Some(127), None, 1, Some(1), Yields::Date),
    f("if", "If", &[], Some(128), None, 3, Some(3), Yields::Arg1),
    f("apply_optional", "ApplyOptional", &[], Some(129), None, 1, None, Yields::Unknown),
    f("apply_cs_security_filter", "ApplyCsSecurityFilter", &[], Some(130), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("union", "Union", &[], Some(131), None, 2, None, Yields::Unknown),
    f("except", "Except", &[], Some(132), None, 2, None, Yields::Unknown),
    f("coalesce", "Coalesce", &[], Some(133), None, 2, None, Yields::Arg0),
    f("add", "Add", &[], Some(134), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("average", "Average", &[], Some(135), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("multiply", "Multiply", &[], Some(136), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("banding_m", "BandingM", &[], Some(137), None, 2, None, Yields::Integer),
    f("olap_sum", "OlapSum", &[], Some(138), None, 1, Some(1), Yields::Numeric),
    f("olap_avg", "OlapAvg", &[], Some(139), None, 1, Some(1), Yields::Double),
    f("olap_count", "OlapCount", &[], Some(140), None, 1, Some(1), Yields::Integer),
    f("olap_max", "OlapMax", &[], Some(141), None, 1, Some(1), Yields::Numeric),
    f("olap_min", "OlapMin", &[], Some(142), None, 1, Some(1), Yields::Numeric),
    f("lag", "Lag", &[], Some(143), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("lead", "Lead", &[], Some(144), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("olap_rank", "OlapRank", &[], Some(145), None, 1, Some(1), Yields::Integer),
    f("repeat", "Repeat", &[], Some(146), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("bit_and", "BitAnd", &[], Some(147), None, 2, Some(2), Yields::Integer),
    f("bit_or", "BitOr", &[], Some(148), None, 2, Some(2), Yields::Integer),
    f("bit_xor", "BitXor", &[], Some(149), None, 2, Some(2), Yields::Integer),
    f("bit_not", "BitNot", &[], Some(150), None, 1, Some(1), Yields::Integer),
    f("bit_left_shift", "BitLeftShift", &[], Some(151), None, 2, Some(2), Yields::Integer),
    f("bit_right_shift", "BitRightShift", &[], Some(152), None, 2, Some(2), Yields::Integer),
    f("ampersand", "Ampersand", &[], Some(153), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("ordinal_rank", "OrdinalRank", &[], Some(154), None, 1, Some(1), Yields::Integer),
    f("histogram_median", "HistogramMedian", &[], Some(155), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("band_names", "BandNames", &[], Some(156), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("percent_rank_relative", "PercentRankRelative", &[], Some(157), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("search", "Search", &[], Some(158), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("if_by_dimty", "IfByDimty", &[], Some(159), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("get_extra_output", "GetExtraOutput", &[], Some(160), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("to_date_time", "ToDateTime", &[], Some(161), None, 1, Some(1), Yields::DateTime),
    f("quarter_start_date", "QuarterStartDate", &[], Some(162), None, 1, Some(1), Yields::Date),
    f("week_start_date", "WeekStartDate", &[], Some(163), None, 1, Some(1), Yields::Date),
    f("to_string", "ToString", &[], Some(164), None, 1, Some(1), Yields::String),
    f("to_number", "ToNumber", &[], Some(165), None, 1, Some(1), Yields::Double),
    f("percent_rank", "PercentRank", &[], Some(166), None, 1, Some(1), Yields::Double),
    f("str_replace", "StrReplace", &[], Some(167), None, 3, Some(3), Yields::Arg0String),
    f("str_match", "StrMatch", &[], Some(168), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("str_split", "StrSplit", &[], Some(169), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("str_char", "StrChar", &[], Some(170), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("str_repeat", "StrRepeat", &[], Some(171), None, 2, Some(2), Yields::Arg0String),
    f("date_diff", "DateDiff", &[], Some(172), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("str_begins_with", "StrBeginsWith", &[], Some(173), None, 2, Some(2), Yields::Boolean),
    f("str_ends_with", "StrEndsWith", &[], Some(174), None, 2, Some(2), Yields::Boolean),
    f("weight_std_p", "WeightStdP", &[], Some(175), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("weight_mean_ave", "WeightMeanAve", &[], Some(176), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("concat_agg", "ConcatAgg", &[], Some(177), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("weight_cov", "WeightCov", &[], Some(178), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("weight_corr", "WeightCorr", &[], Some(179), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("str_last_position", "StrLastPosition", &[], Some(180), None, 2, Some(2), Yields::Integer),
    f("str_title_cap", "StrTitleCap", &[], Some(181), None, 1, Some(1), Yields::Arg0String),
    f("fiscal_week", "FiscalWeek", &[], Some(182), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("fiscal_month", "FiscalMonth", &[], Some(183), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("fiscal_quarter", "FiscalQuarter", &[], Some(184), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("fiscal_year", "FiscalYear", &[], Some(185), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("null_to_empty", "NullToEmpty", &[], Some(186), None, 1, Some(1), Yields::Arg0String),
    f("descendants", "Descendants", &[], Some(187), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("ancestors", "Ancestors", &[], Some(188), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("parents", "Parents", &[], Some(189), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("children", "Children", &[], Some(190), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("tuple", "Tuple", &[], Some(191), None, 0, None, Yields::Unknown), // arity not known: unchecked
    f("round", "Round", &[], None, None, 1, Some(1), Yields::Double),
    f("round2", "Round2", &[], None, None, 2, Some(2), Yields::Double),
    f("power", "Power", &[], None, None, 2, Some(2), Yields::Double),
    f("sqrt", "Sqrt", &[], None, None, 1, Some(1), Yields::Double),
    f("ln", "Ln", &[], None, None, 1, Some(1), Yields::Double),
    f("log", "Log", &[], None, None, 2, Some(2), Yields::Double),
    f("log10", "Log10", &[], None, None, 1, Some(1), Yields::Double),
    f("exp", "Exp", &[], None, None, 1, Some(1), Yields::Double),
    f("floor", "Floor", &[], None, None, 1, Some(1), Yields::Integer),
    f("ceiling", "Ceiling", &[], None, None, 1, Some(1), Yields::Integer),
    f("mod", "Mod", &[], None, None, 2, Some(2), Yields::Numeric),
    f("quotient", "Quotient", &[], None, None, 2, Some(2), Yields::Integer),
    f("int", "Int", &[], None, None, 1, Some(1), Yields::Integer),
    f("trunc", "Trunc", &[], None, None, 1, Some(1), Yields::Numeric),
    f("radians", "Radians", &[], None, None, 1, Some(1), Yields::Double),
    f("degrees", "Degrees", &[], None, None, 1, Some(1), Yields::Double),
    f("concat_blank", "ConcatBlank", &[], None, None, 2, None, Yields::Concat),
];

/// The function a tree's `function` names (snake case, in mstrio's enum).
pub fn by_name(name: &str) -> Option<&'static Function> {
    CATALOGUE.iter().find(|f| f.in_enum() && f.name == name)
}

/// The function a catalogue key names (any function, in the enum or not).
pub fn by_key(key: &str) -> Option<&'static Function> {
    CATALOGUE.iter().find(|f| f.name == key)
}

fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The function `text` calls, matched without regard to case or underscores (`ApplySimple`,
/// `applysimple`, `Apply_Simple`), by its text name, an alias or its snake-case name. `Custom`
/// and `ThirdParty` are markers of trees, not functions one calls.
pub fn by_text(text: &str) -> Option<&'static Function> {
    let key = fold(text);
    CATALOGUE
        .iter()
        .filter(|f| f.number != Some(0) && f.number != Some(-1))
        .find(|f| fold(f.text) == key || fold(f.name) == key || f.aliases.iter().any(|a| fold(a) == key))
}

/// Checks a call of `function` (a catalogue key) with `n` arguments.
pub fn check_call(function: &str, n: usize) -> Result<(), String> {
    match by_key(function) {
        Some(f) => f.check_arity(n),
        None => Err(format!("unknown function '{function}'")),
    }
}

/// The canonical text spelling of a function (a catalogue key): its text name.
pub fn text_name(key: &str) -> &str {
    by_key(key).map_or(key, |f| f.text)
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
    fn every_function_is_found_by_its_text_and_keys_are_unique() {
        for f in CATALOGUE.iter().filter(|f| f.number.is_none_or(|n| n > 0)) {
            assert_eq!(by_text(f.text).map(|x| x.name), Some(f.name), "{}", f.name);
            assert_eq!(
                CATALOGUE.iter().filter(|x| fold(x.name) == fold(f.name)).count(),
                1,
                "{}",
                f.name
            );
        }
        assert_eq!(by_text("applysimple").map(|f| f.name), Some("apply_simple"));
        assert_eq!(by_text("UPPER").map(|f| f.name), Some("ucase"));
        assert_eq!(by_text("ucase").map(|f| f.name), Some("ucase"));
        assert_eq!(by_text("Custom"), None);
        assert_eq!(by_text("Nope"), None);
    }

    #[test]
    fn numbers_follow_the_enum_and_ids_the_scheme_microstrategy_shows() {
        assert_eq!(CATALOGUE.iter().filter(|f| f.in_enum()).count(), 193);
        for (i, f) in CATALOGUE.iter().filter(|f| f.in_enum()).enumerate() {
            assert_eq!(f.number, Some(i as i32 - 1), "{}", f.name);
        }
        // Ids seen in MicroStrategy's own responses.
        let id = |n: &str| by_name(n).and_then(|f| f.object_id);
        assert_eq!(id("minus"), Some("8107C311DD9911D3B98100C04F2233EA"));
        assert_eq!(id("greater"), Some("8107C317DD9911D3B98100C04F2233EA"));
        assert_eq!(id("sum"), Some("8107C31BDD9911D3B98100C04F2233EA"));
        assert_eq!(id("not_in"), Some("8107C348DD9911D3B98100C04F2233EA"));
        assert!(by_key("round").is_some_and(|f| !f.in_enum()));
    }

    #[test]
    fn arity_errors_name_the_function_and_the_count() {
        assert_eq!(
            check_call("concat", 0).unwrap_err(),
            "Concat takes at least 2 arguments, not 0"
        );
        assert_eq!(
            check_call("minus", 1).unwrap_err(),
            "Minus takes 2 arguments, not 1"
        );
        assert_eq!(
            check_call("ucase", 2).unwrap_err(),
            "Upper takes 1 argument, not 2"
        );
        assert_eq!(
            check_call("current_date", 1).unwrap_err(),
            "CurrentDate takes 0 arguments, not 1"
        );
        assert!(check_call("concat", 5).is_ok());
        assert!(check_call("lag", 0).is_ok(), "unchecked");
    }
}
