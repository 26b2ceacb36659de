/*
 * money_units.c
 *		Reading a numeric amount as an exact int64 count of 1/10000 without
 *		numeric arithmetic, and making a numeric of such a count.
 *
 * Why: an aggregate over ten million order rows spent more time in
 * numeric_add (a palloc and a digit loop per row) and in sorting and
 * comparing numeric sums than in everything else.  Money amounts nearly
 * always have at most four decimals and fit easily in int64 at that scale,
 * so the aggregates add int64 units and keep numeric only for the amounts
 * that do not fit (money_sum.c).  Nothing is rounded: an amount is read as
 * units only when that is exact.
 *
 * The amount is read straight from numeric's varlena, whose layout is part of
 * PostgreSQL's on-disk format (pg_upgrade keeps numeric columns as they are,
 * so it cannot change): after the varlena header, a 16-bit header word, in
 * the long format a 16-bit weight, then base-10000 digits, most significant
 * first; the value is the sum of digit[i] * 10000^(weight - i).  Header
 * word: the two high bits are 00 positive, 01 negative, 10 short format, 11
 * special (NaN, +-Infinity); the short format keeps the sign in bit 13, the
 * display scale in bits 7-12 and a 7-bit two's complement weight in bits 0-6;
 * the long format keeps the display scale in bits 0-13.  Reading the packed
 * (1-byte header) varlena in place also spares the copy PG_GETARG_NUMERIC
 * makes of every short on-disk value.
 */
#include "money_units.h"

#include "common/int.h"
#include "utils/builtins.h"

#define NUMERIC_BASE 10000
#define NUMERIC_FLAG_MASK 0xC000
#define NUMERIC_FLAG_NEGATIVE 0x4000
#define NUMERIC_FLAG_SHORT 0x8000
#define NUMERIC_FLAG_SPECIAL 0xC000
#define NUMERIC_SHORT_NEGATIVE 0x2000
#define NUMERIC_SHORT_DSCALE_MASK 0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT 7
#define NUMERIC_SHORT_WEIGHT_NEGATIVE 0x0040
#define NUMERIC_SHORT_WEIGHT_MASK 0x003F
#define NUMERIC_LONG_DSCALE_MASK 0x3FFF

/*
 * Read a 16-bit word at p, which a packed varlena does not align.
 */
static inline uint16
read_word(const char *p)
{
	uint16		word;

	memcpy(&word, p, sizeof(word));
	return word;
}

/*
 * The amount in the numeric bytes data[0..size-1] (after the varlena
 * header) as units.  False when it is special, has a nonzero digit beyond
 * 1/10000, or does not fit in int64.
 */
static bool
units_from_bytes(const char *data, Size size, MoneyUnits *amount)
{
	uint16		header;
	bool		negative;
	int			weight;
	Size		first_digit;
	int			ndigits;
	int64		units = 0;

	if (size < sizeof(uint16))
		return false;
	header = read_word(data);
	switch (header & NUMERIC_FLAG_MASK)
	{
		case NUMERIC_FLAG_SPECIAL:
			return false;
		case NUMERIC_FLAG_SHORT:
			negative = (header & NUMERIC_SHORT_NEGATIVE) != 0;
			amount->dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
			weight = (header & NUMERIC_SHORT_WEIGHT_NEGATIVE ? ~NUMERIC_SHORT_WEIGHT_MASK : 0) |
				(header & NUMERIC_SHORT_WEIGHT_MASK);
			first_digit = sizeof(uint16);
			break;
		default:
			if (size < 2 * sizeof(uint16))
				return false;
			negative = (header & NUMERIC_FLAG_MASK) == NUMERIC_FLAG_NEGATIVE;
			amount->dscale = header & NUMERIC_LONG_DSCALE_MASK;
			weight = (int16) read_word(data + sizeof(uint16));
			first_digit = 2 * sizeof(uint16);
			break;
	}
	ndigits = (int) ((size - first_digit) / sizeof(int16));

	/*
	 * units = sum of digit[i] * 10000^(weight + 1 - i): every digit must sit
	 * at a power >= 0, i.e. i <= weight + 1.  Zero has no digits.
	 */
	if (ndigits > 0 && ndigits - 1 > weight + 1)
		return false;
	for (int power = weight + 1, i = 0; power >= 0 && ndigits > 0; power--, i++)
	{
		int16		digit = i < ndigits ? (int16) read_word(data + first_digit + i * sizeof(int16)) : 0;

		if (digit < 0 || digit >= NUMERIC_BASE ||
			pg_mul_s64_overflow(units, NUMERIC_BASE, &units) ||
			pg_add_s64_overflow(units, digit, &units))
			return false;
	}
	amount->units = negative ? -units : units;
	return true;
}

/*
 * A numeric Datum (possibly toasted or packed) as units; false when it is
 * not exact in units (the caller takes the numeric way).
 */
bool
money_units_from_datum(Datum value, MoneyUnits *amount)
{
	struct varlena *packed = PG_DETOAST_DATUM_PACKED(value);

	return units_from_bytes(VARDATA_ANY(packed), VARSIZE_ANY_EXHDR(packed), amount);
}

/*
 * A detoasted numeric as units.
 */
bool
money_units_from_numeric(Numeric value, MoneyUnits *amount)
{
	return units_from_bytes(VARDATA(value), VARSIZE(value) - VARHDRSZ, amount);
}

/*
 * units / 10000 as a numeric with display scale dscale, which must be at
 * least the number of decimals units has (as for a sum of amounts of at most
 * that scale), so that the value is exact.
 */
Numeric
money_units_to_numeric(int64 units, int dscale)
{
	int64		scaled = units;

	/* units * 10^(dscale - 4), exact by the precondition */
	for (int i = MONEY_UNITS_SCALE; i > dscale; i--)
		scaled /= 10;
	for (int i = MONEY_UNITS_SCALE; i < dscale; i++)
	{
		if (pg_mul_s64_overflow(scaled, 10, &scaled))
		{
			/* too many decimals for int64: let numeric widen the scale */
			return DatumGetNumeric(DirectFunctionCall2(numeric_round,
													   NumericGetDatum(money_units_to_numeric(units, MONEY_UNITS_SCALE)),
													   Int32GetDatum(dscale)));
		}
	}
#if PG_VERSION_NUM >= 140000
	return int64_div_fast_to_numeric(scaled, dscale);
#else
	{
		/* no int64_div_fast_to_numeric before PostgreSQL 14: through text */
		StringInfoData text;
		char		digits[32];
		int			len = snprintf(digits, sizeof(digits), UINT64_FORMAT,
								   scaled < 0 ? -(uint64) scaled : (uint64) scaled);

		initStringInfo(&text);
		if (scaled < 0)
			appendStringInfoChar(&text, '-');
		if (len <= dscale)
		{
			appendStringInfoString(&text, "0.");
			for (int i = len; i < dscale; i++)
				appendStringInfoChar(&text, '0');
			appendStringInfoString(&text, digits);
		}
		else
		{
			appendBinaryStringInfo(&text, digits, len - dscale);
			if (dscale > 0)
				appendStringInfo(&text, ".%s", digits + len - dscale);
		}
		return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text.data),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	}
#endif
}
